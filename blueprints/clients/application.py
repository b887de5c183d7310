"""The clients service has no routes: it registers its commands (`manage.py create-client`,
`list-clients`, `revoke-client`) and, with CLIENT_KEY_REQUIRED on, the key check of every API
request; `requires_client_key` (auth.py) checks keys for the views that always need one."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from app.idempotency import register_owner

from . import models  # noqa: F401  (the migrations see the model)
from .auth import client_key_owner, require_client_key_when_configured
from .commands import client_commands

# cli_group=None: the commands are `manage.py create-client`, not `manage.py clients ...`.
blueprint = Blueprint("clients", __name__, cli_group=None)
for command in client_commands:
    blueprint.cli.add_command(command)


@blueprint.record_once
def check_client_keys(state: BlueprintSetupState) -> None:
    require_client_key_when_configured(state.app, state.url_prefix or "")
    # A client's writes without a user keep their Idempotency-Keys under the client.
    register_owner(state.app, client_key_owner)
