"""Celery tasks of the users service (none yet: registration needs no background work)."""
