"""Docs: the OpenAPI document of the API, and a page that renders it (Swagger UI)."""

from .application import blueprint

__all__ = ["blueprint"]
