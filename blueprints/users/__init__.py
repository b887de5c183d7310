"""Users: registration, login, the current user."""

from flask.blueprints import BlueprintSetupState

from app.idempotency import register_owner

from .application import blueprint
from .auth import token_owner
from .commands import user_commands

for command in user_commands:
    blueprint.cli.add_command(command)


@blueprint.record_once
def own_idempotency_keys(state: BlueprintSetupState) -> None:
    """A user's writes keep their Idempotency-Keys under the user (app/idempotency.py)."""
    register_owner(state.app, token_owner)


__all__ = ["blueprint"]
