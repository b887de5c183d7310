"""Commands that manage API clients: `manage.py create-client`, `list-clients`, `revoke-client`."""

import click
from flask.cli import with_appcontext

from app.extensions import db

from .models import NAME_MAX_LENGTH
from .queries import all_clients, find_client_by_reference
from .services import create_client


@click.command("create-client")
@click.argument("name")
@with_appcontext
def create_client_command(name: str) -> None:
    """Create a client called NAME and print its key (shown this once only)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH:
        raise click.BadParameter(f"must be 1 to {NAME_MAX_LENGTH} characters", param_hint="NAME")
    client, key = create_client(name)
    db.session.commit()
    click.echo(f"created client {client.id} {client.key_prefix} {client.name!r}", err=True)
    click.echo("its key, shown this once only (send it as the X-Client-Key header):", err=True)
    click.echo(key)


@click.command("list-clients")
@with_appcontext
def list_clients_command() -> None:
    """List the clients: id, key prefix, created, status, name."""
    for client in all_clients():
        status = f"revoked {client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked else "active"
        click.echo(
            f"{client.id}\t{client.key_prefix}\t{client.created_at:%Y-%m-%d %H:%M}"
            f"\t{status}\t{client.name}"
        )


@click.command("revoke-client")
@click.argument("reference")
@with_appcontext
def revoke_client_command(reference: str) -> None:
    """Revoke the client REFERENCE (its key prefix ck_... or its id): its key stops working."""
    client = find_client_by_reference(reference)
    if client is None:
        raise click.ClickException(f"no client {reference!r} (give its key prefix or id)")
    client.revoke()
    db.session.commit()
    click.echo(f"revoked client {client.id} {client.key_prefix} {client.name!r}")


client_commands = [create_client_command, list_clients_command, revoke_client_command]
