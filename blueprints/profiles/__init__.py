"""Profiles: public views of users, and following them."""

from .application import blueprint

__all__ = ["blueprint"]
