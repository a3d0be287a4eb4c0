"""The root of every error tickcast raises on purpose."""

__all__ = ["ConfigError", "TickcastError"]


class TickcastError(Exception):
    """Base class: catch this to catch anything tickcast raises deliberately."""


class ConfigError(TickcastError, ValueError):
    """A setting or a model specification is invalid; the message names it."""
