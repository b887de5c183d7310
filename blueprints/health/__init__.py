"""Health: is this process alive (which release and pid), is it ready (database, broker)."""

from .application import blueprint

__all__ = ["blueprint"]
