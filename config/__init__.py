"""Configuration classes, one per environment, chosen by name."""

import os

from .base import Config, ConfigError
from .development import Development
from .production import Production
from .test import Test

CONFIGS: dict[str, type[Config]] = {
    "development": Development,
    "test": Test,
    "production": Production,
}

CONFIG_ENV_VAR = "CONDUIT_CONFIG"


def get_config(name: str | None = None) -> Config:
    """Build the config named `name` (any case), else `$CONDUIT_CONFIG`, else development."""
    name = (name or os.environ.get(CONFIG_ENV_VAR) or "development").lower()
    try:
        config_class = CONFIGS[name]
    except KeyError:
        choices = ", ".join(sorted(CONFIGS))
        raise ConfigError(f"unknown config {name!r}; choose one of: {choices}") from None
    return config_class()


__all__ = ["CONFIGS", "CONFIG_ENV_VAR", "Config", "ConfigError", "get_config"]
