"""Commands added to `manage.py` / `flask` besides Flask's and Flask-Migrate's own."""

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate.cli import db as db_commands

from .extensions import db


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
