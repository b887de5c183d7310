"""Clients: applications that integrate with Conduit, identified by an X-Client-Key."""

from .application import blueprint

__all__ = ["blueprint"]
