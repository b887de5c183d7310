"""Celery settings. The broker comes from CELERY_BROKER_URL (Redis in production and CI);
with nothing configured it is kombu's filesystem transport, which needs no server."""

import os
from pathlib import Path

# The filesystem broker's folder: CELERY_BROKER_FOLDER, else instance/celery.
_project = Path(__file__).resolve().parent
_instance = Path(os.environ.get("CELERY_BROKER_FOLDER") or _project / "instance" / "celery")

broker_url = os.environ.get("CELERY_BROKER_URL", "filesystem://")
broker_connection_retry_on_startup = True
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
task_ignore_result = True
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_soft_time_limit = 60
task_time_limit = 90
timezone = "UTC"
# The queue tasks are sent to and workers consume (the tests give each run its own).
task_default_queue = os.environ.get("CELERY_DEFAULT_QUEUE", "celery")

# celery beat (the Procfile's `beat`): hand over webhook deliveries still pending, e.g. because
# the broker was down when their change committed or a worker died while sending them.
beat_schedule = {
    "sweep-webhook-deliveries": {
        "task": "webhooks.sweep",
        "schedule": float(os.environ.get("WEBHOOK_SWEEP_INTERVAL_SECONDS", 30)),
        "options": {"expires": 60},
    },
    # Delete deliveries and attempts older than WEBHOOK_RETENTION_DAYS, a small batch at a time.
    "prune-webhook-history": {
        "task": "webhooks.prune",
        "schedule": float(os.environ.get("WEBHOOK_PRUNE_INTERVAL_SECONDS", 3600)),
        "options": {"expires": 600},
    },
    # Delete expired Idempotency-Keys and their stored answers (app/idempotency.py).
    "prune-idempotency-keys": {
        "task": "idempotency.prune",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
}
# Where beat remembers when each entry last ran: CELERY_BEAT_SCHEDULE, else beside the
# filesystem broker's folders, else celery's default (./celerybeat-schedule).
if os.environ.get("CELERY_BEAT_SCHEDULE"):
    beat_schedule_filename = os.environ["CELERY_BEAT_SCHEDULE"]
elif broker_url.startswith("filesystem://"):
    _instance.mkdir(parents=True, exist_ok=True)
    beat_schedule_filename = str(_instance / "celerybeat-schedule")


def filesystem_broker_options(folder: Path) -> dict:
    """The filesystem transport's options for a broker in `folder` (its folders made)."""
    folders = {name: folder / name for name in ("queue", "processed", "control")}
    for path in folders.values():
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
        "polling_interval": 0.1,
    }


if broker_url.startswith("filesystem://"):
    broker_transport_options = filesystem_broker_options(_instance)
