"""Tags: the tags articles carry, most used first."""

from .application import blueprint

__all__ = ["blueprint"]
