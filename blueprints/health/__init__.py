"""Health: is this process alive, which release and pid is serving."""

from .application import blueprint

__all__ = ["blueprint"]
