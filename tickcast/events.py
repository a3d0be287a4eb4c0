"""Events: what a process did, said once for people and once for programs.

:func:`emit` logs the event's sentence as every other line, and attaches its name and fields;
with ``TICKCAST_LOG_FORMAT=json`` each log record is one JSON object (time, level, logger,
message) and an event's carries ``event`` and its fields too, so a log shipper, an alert or a
test reads what happened instead of parsing prose. The names are the ones below: one meaning
each, listed here so that a reader finds them all.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

__all__ = ["EventName", "emit"]

EventName = Literal[
    "started",  # a process's startup: what it reads and writes (users, never passwords)
    "partitions_assigned",  # a worker's share of the ticks topic
    "caught_up",  # a worker's first batch written while caught up
    "state_recovered",  # a symbol's state read back from the changelog
    "state_refused",  # a stored state that does not decode or is not trusted (path: which)
    "warm_started",  # a symbol started from the registry champion's learned parameters
    "adopted",  # a symbol serves what a version an operator chose learned
    "latest_store_failed",  # a write to the latest store failed (kept for the next)
    "latest_store_back",  # the latest store answers again
    "write_retried",  # a write failed for now and is tried again
    "write_refused",  # a write failed for good: the process stops without acknowledging
    "batch_given_up",  # at a stop, the batch in flight was not written: it comes again
    "ttl_changed",  # a ClickHouse table's retention altered at setup
    "offsets_skipped",  # a range of a partition's offsets never delivered: nothing can recover it
]


def emit(
    log: logging.Logger,
    event: EventName,
    message: str,
    *args: Any,
    level: int = logging.INFO,
    **fields: Any,
) -> None:
    """Log ``message % args`` as the event ``event`` with ``fields`` (JSON values)."""
    log.log(level, message, *args, extra={"event": event, "fields": fields})
