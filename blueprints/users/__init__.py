"""Users: registration, login, the current user."""

from .application import blueprint

__all__ = ["blueprint"]
