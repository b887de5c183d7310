"""Users: registration, login, the current user."""

from .application import blueprint
from .commands import user_commands

for command in user_commands:
    blueprint.cli.add_command(command)

__all__ = ["blueprint"]
