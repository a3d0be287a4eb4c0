"""Sinks: ``add`` buffers a tick's outputs, ``flush`` writes the buffer in one batch.

A flush that fails keeps its buffer, so the next flush retries it: nothing is lost while the
target is down (bounding that buffer with back-pressure is the fault-tolerance issue's work).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from tickcast.online_model import SERVED, StepResult
from tickcast.records import Forecast, Outcome, Tick
from tickcast.stores import ClickHouseStore, LatestStore

__all__ = ["ClickHouseSink", "DeadLetter", "LatestSink", "MemorySink", "Sink"]

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class DeadLetter:
    """A message that could not become a tick: the original payload and why."""

    received_at: int
    source: str
    reason: str
    payload: str


class Sink(Protocol):
    def add(self, tick: Tick, result: StepResult) -> None: ...
    def add_dead_letter(self, letter: DeadLetter) -> None: ...
    def flush(self) -> None: ...


class MemorySink:
    """Keeps everything in lists: for tests and backtests."""

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.forecasts: list[Forecast] = []
        self.outcomes: list[Outcome] = []
        self.metrics: list[dict[str, Any]] = []
        self.dead_letters: list[DeadLetter] = []

    def add(self, tick: Tick, result: StepResult) -> None:
        if result.status == "ok":
            self.ticks.append(tick)
        self.forecasts.extend(result.forecasts)
        self.outcomes.extend(result.outcomes)
        self.metrics.extend(result.metrics)

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)

    def flush(self) -> None:
        return None


class ClickHouseSink(MemorySink):
    """Buffers rows per table and inserts each table's rows in one batch per flush."""

    def __init__(self, store: ClickHouseStore) -> None:
        super().__init__()
        self.store = store

    @property
    def buffered(self) -> int:
        return len(self.forecasts) + len(self.outcomes) + len(self.ticks)

    def flush(self) -> None:
        for table, rows in (
            ("ticks", self.ticks),
            ("forecasts", self.forecasts),
            ("outcomes", self.outcomes),
            ("model_metrics", self.metrics),
            ("dead_letters", self.dead_letters),
        ):
            if rows:
                self.store.insert(table, rows)
                rows.clear()  # only once written: a failed insert is retried next flush


class LatestSink:
    """Keeps the last served forecast per symbol; one pipelined write per flush."""

    def __init__(self, store: LatestStore) -> None:
        self.store = store
        self.pending: dict[str, Forecast] = {}

    def add(self, tick: Tick, result: StepResult) -> None:
        for forecast in result.forecasts:
            if forecast.model == SERVED:
                self.pending[forecast.symbol] = forecast

    def add_dead_letter(self, letter: DeadLetter) -> None:
        return None

    def flush(self) -> None:
        if self.pending:
            self.store.put_many(self.pending.values())
            self.pending = {}
