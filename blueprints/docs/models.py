"""The docs service has no models: it documents the other services."""
