"""The root of every error tickcast raises on purpose, and the two kinds of failed write."""

__all__ = ["ConfigError", "PermanentWriteError", "TickcastError", "TransientWriteError"]


class TickcastError(Exception):
    """Base class: catch this to catch anything tickcast raises deliberately."""


class ConfigError(TickcastError, ValueError):
    """A setting or a model specification is invalid; the message names it."""


class TransientWriteError(TickcastError):
    """A write that may succeed if tried again (the target is down, busy or slow): the
    runtime keeps the batch and retries with back-off."""


class PermanentWriteError(TickcastError):
    """A write the target refused and will refuse again (a schema that does not match, a
    rejected insert): the stream stops with this message, which names the target and the
    cause; nothing unwritten is acknowledged."""
