"""Sinks: ``add`` buffers a tick's outputs, ``flush`` writes the buffer in one batch,
``drain`` waits until everything handed over is written.

A write that fails transiently keeps its rows, so the next flush retries them: nothing is lost
while the target is down, and past a bound the stream waits (back-pressure). A write refused
for good (:class:`~tickcast.exceptions.PermanentWriteError`) is raised to the runner, which
stops the stream with its message.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from tickcast.exceptions import PermanentWriteError
from tickcast.monitor.metrics import DRIFT_EVENTS, MODEL_ROLLING, SINK_BATCH_ROWS, SINK_FAILURES
from tickcast.online_model import SERVED, StepResult
from tickcast.online_model.drift import DriftEvent
from tickcast.records import Forecast, Outcome, RejectCode, Tick
from tickcast.stores import ClickHouseStore, LatestStore

__all__ = [
    "ClickHouseSink",
    "DeadLetter",
    "HeldSink",
    "LatestSink",
    "MemorySink",
    "PrometheusSink",
    "Sink",
]
ROLLING_METRICS = ("mae", "mae_ratio_vs_random_walk", "coverage", "hit_rate", "bias")

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class DeadLetter:
    """A message that could not become a tick: the original payload and why."""

    received_at: int
    source: str
    reason: str
    payload: str
    original: bytes = b""  # the message as it arrived, when it arrived as bytes
    code: RejectCode = "bad_field"


class Sink(Protocol):
    def add(self, tick: Tick, result: StepResult) -> None: ...
    def add_dead_letter(self, letter: DeadLetter) -> None: ...
    def flush(self) -> None: ...
    def drain(self) -> None: ...


class HeldSink:
    """A sink whose owner reads its buffers itself: dead letters are kept, flush does nothing."""

    def __init__(self) -> None:
        self.dead_letters: list[DeadLetter] = []

    def add_dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)

    def flush(self) -> None:
        return None

    def drain(self) -> None:
        return None


class MemorySink(HeldSink):
    """Keeps everything in lists: for tests and backtests."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[Tick] = []
        self.forecasts: list[Forecast] = []
        self.outcomes: list[Outcome] = []
        self.metrics: list[dict[str, Any]] = []
        self.drift: list[DriftEvent] = []

    def add(self, tick: Tick, result: StepResult) -> None:
        if result.status == "ok":
            self.ticks.append(tick)
        self.forecasts.extend(result.forecasts)
        self.outcomes.extend(result.outcomes)
        self.metrics.extend(result.metrics)
        self.drift.extend(result.drift)


class ClickHouseSink(MemorySink):
    """Buffers rows per table; each flush hands the batch to one writer thread.

    One batch is written while the next fills (chdb's engine work overlaps the core), and at
    most one is in flight: a flush first waits for the previous write (back-pressure). Writes
    happen in order; a failed batch is put back in front of the buffers and retried at the next
    flush. While ClickHouse fails, the buffers grow up to ``max_rows``; past that a flush
    retries in place, with backoff, until a write succeeds: the stream waits (back-pressure)
    instead of growing memory or dropping rows.
    """

    # ClickHouse table -> the MemorySink list that buffers its rows, in write order
    BUFFERS: ClassVar[dict[str, str]] = {
        "ticks": "ticks",
        "forecasts": "forecasts",
        "outcomes": "outcomes",
        "model_metrics": "metrics",
        "drift_events": "drift",
        "dead_letters": "dead_letters",
    }

    def __init__(self, store: ClickHouseStore, max_rows: int = 500_000) -> None:
        super().__init__()
        self.store = store
        self.max_rows = max_rows
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="clickhouse-sink")
        self._inflight: Future[None] | None = None
        self._inflight_batch: dict[str, list[Any]] = {}

    def take(self) -> dict[str, list[Any]]:
        """The buffered rows per table; the buffers start empty again."""
        batch = {table: getattr(self, name) for table, name in self.BUFFERS.items()}
        for name in self.BUFFERS.values():
            setattr(self, name, [])
        return batch

    def write(self, batch: dict[str, list[Any]]) -> None:
        """Write a batch from :meth:`take`, table by table; a table written is emptied in the
        batch, so a retry after a later table failed writes only the rest."""
        for table, rows in batch.items():
            if rows:
                self.store.insert(table, rows)
                SINK_BATCH_ROWS.labels("clickhouse").observe(len(rows))
                batch[table] = []  # written: a retry after a later failure skips it

    def drain(self) -> None:
        """Wait for the batch in flight; if it failed, put its rows back and raise."""
        future, self._inflight = self._inflight, None
        if future is None:
            return
        try:
            future.result()
        except Exception:
            SINK_FAILURES.labels("clickhouse").inc()
            for table, name in self.BUFFERS.items():
                getattr(self, name)[:0] = self._inflight_batch[table]
            raise

    def flush(self) -> None:
        try:
            self.drain()
        except PermanentWriteError:
            raise
        except Exception:
            if self.buffered() <= self.max_rows:
                raise  # the next flush retries; the stream goes on meanwhile
            self._write_until_it_works()
        batch = self.take()
        if any(batch.values()):
            self._inflight_batch = batch
            self._inflight = self.writer.submit(self.write, batch)

    def buffered(self) -> int:
        return sum(len(getattr(self, name)) for name in self.BUFFERS.values())

    def _write_until_it_works(self) -> None:
        """Back-pressure: hold the caller until the buffered rows are written."""
        delay = 0.5
        while True:
            log.warning("clickhouse behind by %d rows (limit %d): the stream waits for it",
                        self.buffered(), self.max_rows)  # fmt: skip
            time.sleep(delay)
            batch = self.take()
            try:
                self.write(batch)
                return
            except PermanentWriteError:
                raise
            except Exception:
                SINK_FAILURES.labels("clickhouse").inc()
                for table, name in self.BUFFERS.items():
                    getattr(self, name)[:0] = batch[table]
                delay = min(delay * 2, 10.0)


class LatestSink:
    """Keeps the last served forecast per symbol; one pipelined write per flush.

    A store that is down does not hold the stream back: the latest forecast per symbol stays
    pending (bounded by the number of symbols) and is written when the store answers again.
    """

    def __init__(self, store: LatestStore) -> None:
        self.store = store
        self.pending: dict[str, Forecast] = {}
        self.failures = 0

    def add(self, tick: Tick, result: StepResult) -> None:
        for forecast in result.forecasts:
            if forecast.model == SERVED:
                self.pending[forecast.symbol] = forecast

    def add_dead_letter(self, letter: DeadLetter) -> None:
        return None

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            self.store.put_many(self.pending.values())
        except Exception as exc:  # keep the latest values; the next flush catches up
            SINK_FAILURES.labels("latest").inc()
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                log.warning("latest store write failed %d time(s): %s", self.failures, exc)
            return
        if self.failures:
            log.info("latest store is back after %d failed write(s)", self.failures)
            self.failures = 0
        SINK_BATCH_ROWS.labels("latest").observe(len(self.pending))
        self.pending = {}

    def drain(self) -> None:
        return None


class PrometheusSink:
    """Rolling quality per symbol and model, and drift events, as Prometheus series.

    Gauges cover the first ``max_symbols`` symbols only, so the label set stays bounded.
    (Processing latency and the forecasts counter are observed by the runner, which knows
    when a tick arrived and when its outputs were written.)
    """

    def __init__(self, max_symbols: int = 100) -> None:
        self.max_symbols = max_symbols
        self.symbols: set[str] = set()

    def add(self, tick: Tick, result: StepResult) -> None:
        if result.status != "ok":
            return
        for row in result.metrics:
            if row["window"] == "rolling" and self._tracked(row["symbol"]):
                self._set_gauges(row)
        for event in result.drift:
            symbol = event.symbol if self._tracked(event.symbol) else "_other"
            DRIFT_EVENTS.labels(symbol, event.kind).inc()

    def _tracked(self, symbol: str) -> bool:
        if symbol not in self.symbols:
            if len(self.symbols) >= self.max_symbols:
                return False
            self.symbols.add(symbol)
        return True

    def _set_gauges(self, row: dict[str, Any]) -> None:
        symbol = row["symbol"]
        for metric in ROLLING_METRICS:
            value = row.get(metric)
            if isinstance(value, float) and math.isfinite(value):
                MODEL_ROLLING.labels(symbol, row["model"], metric).set(value)

    def add_dead_letter(self, letter: DeadLetter) -> None:
        return None

    def flush(self) -> None:
        return None

    def drain(self) -> None:
        return None
