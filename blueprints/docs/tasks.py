"""The docs service has no tasks: it documents the other services."""
