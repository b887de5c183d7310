"""Commands of the users service: `manage.py revoke-tokens USERNAME`."""

import click
from flask.cli import with_appcontext

from app.extensions import db

from .models import User
from .services import revoke_tokens


@click.command("revoke-tokens")
@click.argument("username")
@with_appcontext
def revoke_tokens_command(username: str) -> None:
    """End every session of USERNAME: each token issued so far stops working at once."""
    user = db.session.scalar(db.select(User).filter_by(username=username))
    if user is None:
        raise click.ClickException(f"no user is called {username!r}")
    revoke_tokens(user)
    db.session.commit()
    click.echo(f"revoked every token of user {user.id} {user.username!r}")


user_commands = [revoke_tokens_command]
