"""Celery tasks of the profiles service (none: following is recorded synchronously)."""
