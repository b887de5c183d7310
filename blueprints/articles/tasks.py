"""Celery tasks of the articles service (none: webhooks deliver the articles' events)."""
