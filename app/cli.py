"""Commands added to `manage.py` / `flask` besides Flask's own: Flask-Migrate's `db` group."""

import click
from flask import Flask
from flask.cli import with_appcontext

from .extensions import db


class MigrationCommands(click.Group):
    """`db`: Flask-Migrate's command group (with `db create` added), imported only when `db`
    is run or listed: Flask-Migrate imports Alembic (see app/extensions.py's Migrations)."""

    def __init__(self) -> None:
        super().__init__("db", help="Perform database migrations.")
        self.loaded = False

    def load(self) -> None:
        """Take Flask-Migrate's options (-d, -x), callback and commands."""
        if self.loaded:
            return
        from flask_migrate.cli import db as flask_migrate_commands

        self.params = flask_migrate_commands.params
        self.callback = flask_migrate_commands.callback
        self.commands = {**flask_migrate_commands.commands, **self.commands}
        self.loaded = True

    def make_context(self, *args, **kwargs) -> click.Context:
        self.load()
        return super().make_context(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self.load()
        return super().get_command(ctx, name)


db_commands = MigrationCommands()


@db_commands.command("create")
@with_appcontext
def create_database_command() -> None:
    """Create the configured database if it does not exist yet (then run `db upgrade`)."""
    # Imported here: it costs every process that loads the app ~0.15 s of CPU, for this command.
    from sqlalchemy_utils import create_database, database_exists

    url = db.engine.url
    if database_exists(url):
        click.echo(f"database {url.render_as_string(hide_password=True)} already exists")
        return
    create_database(url, encoding="utf8mb4" if url.get_backend_name() == "mysql" else None)
    click.echo(f"created database {url.render_as_string(hide_password=True)}")


def register_commands(app: Flask) -> None:
    """Attach the core's commands to `app.cli`; services add theirs through their blueprint's
    `cli` (see blueprints/clients)."""
    app.cli.add_command(db_commands)
