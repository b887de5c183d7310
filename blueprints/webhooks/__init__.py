"""Webhooks: clients' endpoints receive signed events, delivered by Celery workers."""

from flask.blueprints import BlueprintSetupState

from . import tasks  # noqa: F401  (registers the tasks this service sends)
from .application import blueprint
from .commands import webhook_commands
from .outbox import subscribe_outbox


@blueprint.record_once
def record_events_in_the_outbox(state: BlueprintSetupState) -> None:
    """Registering the service subscribes its outbox to the app's events (app.events)."""
    subscribe_outbox(state.app)


for command in webhook_commands:
    blueprint.cli.add_command(command)

__all__ = ["blueprint"]
