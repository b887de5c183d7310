"""Celery tasks of the comments service (none: comments are written synchronously)."""
