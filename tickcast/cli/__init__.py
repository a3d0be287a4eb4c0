"""The ``tickcast`` command: one module per kind of command, each calling the composition root
(``tickcast.bootstrap``) with the settings that ``app``'s callback reads once."""

from tickcast.cli import embedded, models, produce, serve, setup, tune, worker  # noqa: F401
from tickcast.cli.app import app, main

__all__ = ["app", "main"]
