"""Celery tasks of the tags service (none: tag counts change in the article's transaction)."""
