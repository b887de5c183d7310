"""Comments on articles."""

from .application import blueprint

__all__ = ["blueprint"]
