"""The clients service has no routes: `manage.py create-client`, `list-clients` and
`revoke-client` manage clients, and `requires_client_key` (app/decorators.py) checks keys."""

from flask import Blueprint

from . import models  # noqa: F401  (the migrations see the model)

blueprint = Blueprint("clients", __name__)
