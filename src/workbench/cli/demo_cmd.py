"""Commands owned by a module still being written; registers nothing yet."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
