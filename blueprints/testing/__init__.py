"""Routes only the tests use, registered when the TEST_ENDPOINTS setting is on (never in
production: the Production config refuses to start with it)."""

from .application import blueprint

__all__ = ["blueprint"]
