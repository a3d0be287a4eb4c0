"""What Faust delivers, as the worker reads it: topic partitions, records, events with their
acknowledgement, and the offsets seen (a record delivered twice runs once)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tickcast.events import emit

__all__ = ["Ack", "Event", "Message", "OffsetGuard", "TopicPartition"]

log = logging.getLogger(__name__)


class TopicPartition(Protocol):
    """What the shell reads of Faust's (and aiokafka's) topic partition."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    def __hash__(self) -> int: ...


class Message(Protocol):
    """What the shell reads of a Kafka record as Faust delivers it."""

    @property
    def tp(self) -> TopicPartition: ...
    @property
    def offset(self) -> int: ...
    @property
    def partition(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def headers(self) -> Any: ...  # a list of pairs or a mapping, by client version


class Event(Protocol):
    """A delivered record: its value and its message."""

    @property
    def value(self) -> Any: ...  # the payload as Faust decoded it (bytes with our raw codec)
    @property
    def message(self) -> Message: ...


Ack = Callable[[Event], Awaitable[Any]]


class OffsetGuard:
    """The next offset to process per topic partition, so a record delivered twice runs once.

    Faust fetches again from the committed offset after a seek, so records already processed
    (and not yet committed) can arrive a second time. A skipped range is logged as an error:
    nothing downstream could recover it.
    """

    def __init__(self) -> None:
        self.next_offset: dict[TopicPartition, int] = {}

    def is_new(self, tp: TopicPartition, offset: int) -> bool:
        expected = self.next_offset.get(tp)
        if expected is not None and offset < expected:
            log.debug("%s offset %d delivered again: passed over", tp, offset)
            return False
        if expected is not None and offset > expected:
            emit(
                log,
                "offsets_skipped",
                "%s offsets %d..%d were never delivered",
                tp,
                expected,
                offset - 1,
                level=logging.ERROR,
                partition=str(tp),
                first=expected,
                last=offset - 1,
            )
        self.next_offset[tp] = offset + 1
        return True

    def forget(self, tps: set[TopicPartition]) -> None:
        """Partitions that moved away: their next owner keeps its own count."""
        for tp in tps:
            self.next_offset.pop(tp, None)
