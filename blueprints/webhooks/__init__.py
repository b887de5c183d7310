"""Webhooks: clients' endpoints receive signed events, delivered by Celery workers."""

from flask.blueprints import BlueprintSetupState

from app.metrics import collect_at_scrape

from . import tasks  # noqa: F401  (registers the tasks this service sends)
from .application import blueprint
from .commands import webhook_commands
from .metrics import OutboxCollector
from .outbox import subscribe_outbox


@blueprint.record_once
def record_events_in_the_outbox(state: BlueprintSetupState) -> None:
    """Registering the service subscribes its outbox to the app's events (app.events), and
    has the outbox's backlog read at each scrape of the metrics."""
    subscribe_outbox(state.app)
    collect_at_scrape(state.app, OutboxCollector(state.app))


for command in webhook_commands:
    blueprint.cli.add_command(command)

__all__ = ["blueprint"]
