"""Webhooks: clients' endpoints receive signed events, delivered by Celery workers."""

from .application import blueprint

__all__ = ["blueprint"]
