"""Sinks: where a batch's outputs go. The runtime owns the order; a sink does two things.

- ``part(outputs)``: what this sink must write for a cut of the batch (on the event loop, at
  the cut: cheap, no I/O, no side effect);
- ``write(part)``: write it, idempotently (a retry after a failure writes what is left),
  raising :class:`~tickcast.exceptions.TransientWriteError` when trying again may help and
  :class:`~tickcast.exceptions.PermanentWriteError` when it cannot.

Two sinks have other semantics: the latest store's (:class:`LatestSink`: latest wins, so its
write never waits and never fails the batch; the runtime publishes ahead of the batch) and the
registry's (:class:`RegistrySink`: checkpoints, after the states). :class:`MemorySink` keeps
records, for tests and reports.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any, Literal, Protocol, TypeVar

import pyarrow as pa

from tickcast.events import emit
from tickcast.monitor.prometheus import SINK_BATCH_ROWS, SINK_FAILURES
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.records import DeadLetter, DriftEvent, Forecast, Label, MetricRow, Outcome, Tick
from tickcast.stores import ClickHouseStore, LatestStore
from tickcast.stores.latest import newer
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors.outputs import Outputs

__all__ = ["ClickHouseSink", "LatestSink", "MemorySink", "RegistrySink", "Sink"]

log = logging.getLogger(__name__)
ForecastRows = Literal["served", "all"]  # which forecasts ClickHouse keeps


P = TypeVar("P")  # what a sink takes of a cut
R = TypeVar("R")  # a record


class Sink(Protocol[P]):
    name: str

    def part(self, outputs: Outputs) -> P: ...
    async def write(self, part: P) -> None: ...


class ClickHouseSink:
    """Every table's rows of a cut, written in one thread of its own (chdb's engine releases
    the GIL while it works, so the insert overlaps the stream); a table written is dropped
    from the part, so a retry writes only the rest.

    ``forecasts``: "served" writes the served forecast's row per tick, "all" every model's
    too (TICKCAST_CLICKHOUSE_FORECASTS). The models' own rows were five of a tick's eight
    rows and a fifth of the embedded runner's time (chdb's inserts and merges share its
    cores); each model's quality is in ``model_metrics`` either way.
    """

    name = "clickhouse"

    def __init__(self, store: ClickHouseStore, forecasts: ForecastRows = "served") -> None:
        self.store = store
        self.served_only = forecasts == "served"
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="clickhouse-sink")

    def part(self, outputs: Outputs) -> dict[str, pa.Table | list[Any]]:
        tables: dict[str, pa.Table | list[Any]] = {
            table: outputs.arrow(table, served_only=self.served_only)
            for table in ("ticks", "forecasts", "labels", "model_metrics")
            if outputs.rows(table)
        }
        for table, rows in (
            ("drift_events", outputs.drift_events()),
            ("dead_letters", outputs.dead_letters),
        ):
            if rows:
                tables[table] = rows
        return tables

    async def write(self, part: dict[str, pa.Table | list[Any]]) -> None:
        await asyncio.get_running_loop().run_in_executor(self.writer, self._write, part)

    def _write(self, part: dict[str, pa.Table | list[Any]]) -> None:
        for table in list(part):
            rows = part[table]
            try:
                if isinstance(rows, pa.Table):
                    self.store.insert_table(table, rows)
                else:
                    self.store.insert(table, rows)
            except Exception:
                SINK_FAILURES.labels(self.name).inc()
                raise
            SINK_BATCH_ROWS.labels(self.name).observe(len(rows))
            del part[table]  # written: a retry after a later failure skips it


class LatestSink:
    """The newest served forecast per symbol, until the store has it: latest wins.

    ``write`` hands forecasts over and returns at once (it never fails the batch). A store that
    is down does not hold the stream back: what waits is one forecast per symbol
    (each new one replaces the last), written as soon as the store answers again. A store
    across the network (``store.blocking``) is written in a thread of its own, one write in
    flight: a Redis round trip under load took 5-8 ms on the event loop, and an unreachable one
    its whole socket timeout. What comes meanwhile goes with the next write.
    """

    def __init__(self, store: LatestStore) -> None:
        self.store = store
        self.pending: dict[str, Forecast] = {}
        self.failures = 0
        self.lock = threading.Lock()  # pending is offered on the loop, taken in the writer
        blocking = getattr(store, "blocking", False)
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="latest-sink") if blocking else None
        self.last: Future[None] | None = None  # the last write handed to the writer
        self.queued = 0  # writes handed over and not finished: one running, one waiting

    def write(self, forecasts: list[Forecast]) -> None:
        """Keep each symbol's newest forecast and write what is pending (one round trip: here,
        or in the writer for a blocking store); on failure keep it for the next time."""
        with self.lock:
            for forecast in forecasts:
                if newer(forecast, self.pending.get(forecast.symbol)):
                    self.pending[forecast.symbol] = forecast
        if self.writer is None:
            self._write()
            return
        with self.lock:  # the waiting write takes whatever is pending when it runs
            if not self.pending or self.queued >= 2:
                return
            self.queued += 1
        self.last = self.writer.submit(self._write_in_writer)

    def wait(self, timeout_s: float | None = None) -> None:
        """Until the writes handed over are done (the end of a run)."""
        if self.last is not None:
            done, _ = futures_wait([self.last], timeout_s)
            if not done:
                log.warning("latest store: a write still in flight after %s s", timeout_s)

    def _write_in_writer(self) -> None:
        try:
            self._write()
        finally:
            with self.lock:
                self.queued -= 1

    def _write(self) -> None:
        with self.lock:
            taken, self.pending = self.pending, {}
        if not taken:
            return
        try:
            self.store.put_many(taken.values())
        except Exception as exc:  # keep the newest values; the next flush catches up
            with self.lock:
                for symbol, forecast in taken.items():
                    if newer(forecast, self.pending.get(symbol)):
                        self.pending[symbol] = forecast
            SINK_FAILURES.labels("latest").inc()
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                emit(
                    log,
                    "latest_store_failed",
                    "latest store write failed %d time(s): %s",
                    self.failures,
                    exc,
                    level=logging.WARNING,
                    failures=self.failures,
                )
            return
        if self.failures:
            emit(
                log,
                "latest_store_back",
                "latest store is back after %d failed write(s)",
                self.failures,
                failures=self.failures,
            )
            self.failures = 0
        SINK_BATCH_ROWS.labels("latest").observe(len(taken))


class RegistrySink:
    """Checkpoints to the registry's process (its queue: no wait here), after the states that
    cover them; what the process says back is read at every cut (``hear``)."""

    name = "registry"

    def __init__(self, registry: BackgroundRegistry) -> None:
        self.registry = registry

    def hear(self) -> None:
        self.registry.poll()

    async def write(self, part: list[Checkpoint]) -> None:
        while part:  # handed over one by one: a retry hands over the rest
            self.registry.submit(part[0])
            del part[0]


class MemorySink:
    """Keeps everything as records, in lists, each once: for tests and backtests."""

    name = "memory"

    def __init__(self) -> None:
        self.ticks: list[Tick] = []
        self.forecasts: list[Forecast] = []
        self.labels: list[Label] = []
        self.metrics: list[MetricRow] = []
        self.drift: list[DriftEvent] = []
        self.dead_letters: list[DeadLetter] = []
        self.seen: set[Any] = set()  # every record's identity

    def part(self, outputs: Outputs) -> Outputs:
        return outputs

    async def write(self, part: Outputs) -> None:
        """Each record once, whatever is written again (a retried batch)."""
        self._keep(self.ticks, part.ticks(), lambda r: (r.symbol, r.ts, r.seq))
        self._keep(self.forecasts, part.forecasts(), lambda r: (r.symbol, r.ts, r.seq, r.model))
        self._keep(self.labels, part.labels(), lambda r: (r.symbol, r.ts, r.seq))
        self._keep(self.metrics, part.metric_rows(), lambda r: (r.symbol, r.ts, r.model, r.window))
        self._keep(self.drift, part.drift_events(), lambda r: r)
        self._keep(self.dead_letters, part.dead_letters, lambda r: r)

    def _keep(self, kept: list[R], records: list[R], identity: Callable[[R], Hashable]) -> None:
        for record in records:
            key = (type(record).__name__, identity(record))
            if key not in self.seen:
                self.seen.add(key)
                kept.append(record)

    @property
    def outcomes(self) -> list[Outcome]:
        """Every forecast with the label that matured it (forecasts not matured yet have
        none): what ClickHouse's ``outcomes`` view gives."""
        labels = {(label.symbol, label.ts, label.seq): label for label in self.labels}
        scored = []
        for f in self.forecasts:
            label = labels.get((f.symbol, f.ts, f.seq))
            if label is None:
                continue
            realised = label.realised_return
            lower, upper = math.log(f.lower / f.price), math.log(f.upper / f.price)
            inside = f.lower <= f.price * math.exp(realised) <= f.upper
            scored.append(
                Outcome(
                    f.symbol,
                    f.ts,
                    f.seq,
                    label.label_ts,
                    f.horizon,
                    f.model,
                    f.predicted_return,
                    realised,
                    lower,
                    upper,
                    inside,
                    f.p_up,
                )
            )
        return scored
