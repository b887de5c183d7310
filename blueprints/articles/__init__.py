"""Articles: writing, reading and listing them, favorites and the feed."""

from .application import blueprint

__all__ = ["blueprint"]
