"""Responses shared by the services' routes."""

from flask import Response


def no_content() -> Response:
    """204 No Content: no body, and so no Content-Type."""
    response = Response(status=204)
    response.headers.remove("Content-Type")
    return response
