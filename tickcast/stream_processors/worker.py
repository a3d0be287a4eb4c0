"""The Faust worker's shell: run the core on each Kafka event, flush batches in order.

The core runs through the same :class:`Pipeline` as the embedded runner. The shell adds what
Kafka needs: per-symbol state loaded from and written to the Faust table, the ``forecasts`` and
``ticks.dlq`` topics, and the flush order of docs/architecture.md (outputs, then state, then the
acknowledgement of the batch's events), with a batch written while the next one fills.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tickcast.codecs import encode_state
from tickcast.config import Settings
from tickcast.exceptions import PermanentWriteError
from tickcast.monitor.metrics import (
    CONSUMER_LAG,
    END_TO_END_LATENCY,
    SINK_BATCH_ROWS,
    observe_processing,
)
from tickcast.online_model import CoreConfig, StepResult
from tickcast.producers.kafka_publisher import CODE, PRODUCED_AT, REASON
from tickcast.records import Tick, forecasts_message
from tickcast.stores import ClickHouseStore, open_latest_store
from tickcast.stores.registry import BackgroundRegistry
from tickcast.stream_processors.kafka_outputs import KafkaOutputs, Message
from tickcast.stream_processors.pipeline import Pipeline, checkpoint_policy
from tickcast.stream_processors.sinks import (
    ClickHouseSink,
    HeldSink,
    LatestSink,
    PrometheusSink,
    Sink,
)

__all__ = ["Batch", "OffsetGuard", "Outbox", "WorkerShell"]

log = logging.getLogger(__name__)
MAX_RETRY_DELAY_S = 10.0
DELIVERY_TIMEOUT_S = 30.0
REGISTRY_WAIT_S = 10.0
SHUTDOWN_WAIT_S = 30.0
CAUGHT_UP_LAG = 100  # events behind the partitions' ends: more, and latest waits for the batch
EXIT_PERMANENT_WRITE = 74  # sysexits' EX_IOERR: an output refused the batch for good


class Outbox(HeldSink):
    """Keeps the Kafka messages (forecasts, dead letters) until a flush takes them."""

    def __init__(self) -> None:
        super().__init__()
        self.forecasts: list[Message] = []

    def add(self, tick: Tick, result: StepResult) -> None:
        if result.forecasts:
            message = forecasts_message(result.forecasts)
            self.forecasts.append((tick.symbol.encode(), message, []))

    def take(self) -> tuple[list[Message], list[Message]]:
        """This batch's forecast messages and dead-letter messages; the buffers start empty."""
        letters: list[Message] = [
            (None, letter.original or letter.payload.encode(),
             [(REASON, letter.reason.encode()), (CODE, letter.code.encode()),
              ("source", letter.source.encode())])
            for letter in self.dead_letters
        ]  # fmt: skip
        forecasts, self.forecasts, self.dead_letters = self.forecasts, [], []
        return forecasts, letters


@dataclass(slots=True)
class Batch:
    """What one flush writes, cut from the live buffers between two events. Each part is
    emptied once written, so a retry after a failure writes only what is left."""

    forecasts: list[Message]
    dead_letters: list[Message]
    rows: dict[str, list[Any]]  # ClickHouse rows per table
    states: list[tuple[bytes, bytes, int]]  # key, encoded state, changelog partition
    events: list[Any]  # to acknowledge once everything above is written
    repeats: list[Any]  # delivered twice: acknowledged and released with the batch
    arrivals: list[float]  # for the processing latency

    def is_empty(self) -> bool:
        return not (self.forecasts or self.dead_letters or any(self.rows.values())
                    or self.states or self.events or self.repeats)  # fmt: skip


class OffsetGuard:
    """The next offset to process per topic partition, so a record delivered twice runs once.

    Faust fetches again from the committed offset after a seek, so records already processed
    (and not yet committed) can arrive a second time. A skipped range is logged as an error:
    nothing downstream could recover it.
    """

    def __init__(self) -> None:
        self.next_offset: dict[Any, int] = {}

    def is_new(self, tp: Any, offset: int) -> bool:
        expected = self.next_offset.get(tp)
        if expected is not None and offset < expected:
            log.debug("%s offset %d delivered again: passed over", tp, offset)
            return False
        if expected is not None and offset > expected:
            log.error("%s offsets %d..%d were never delivered", tp, expected, offset - 1)
        self.next_offset[tp] = offset + 1
        return True

    def forget(self, tps: set[Any]) -> None:
        """Partitions that moved away: their next owner keeps its own count."""
        for tp in tps:
            self.next_offset.pop(tp, None)


class WorkerShell:
    """Per-process worker state: the pipeline, the table and topics, the symbols' partitions.

    A flush is cut and completed in two steps. The cut runs between two events and takes
    everything the batch must write: Kafka messages, ClickHouse rows, the touched symbols'
    encoded states, the events to acknowledge; it also writes the latest forecasts (cheap, and
    never held back by the rest). The completion then writes and confirms the outputs, then the
    states, then acknowledges the events (docs/architecture.md), while the stream goes on with the
    next batch. At most one completion runs at a time, so states reach the changelog in order
    and a slow output holds the stream back instead of growing memory.
    """

    def __init__(
        self,
        settings: Settings,
        config: CoreConfig,
        *,
        table: Any,
        release: Callable[[Any], None] = lambda message: None,
        highwater: Callable[[Any], int | None] = lambda tp: None,
    ) -> None:
        self.settings = settings
        self.table = table
        self.kafka = KafkaOutputs(settings.kafka_bootstrap, f"{settings.app_id}-outputs")
        self.outbox = Outbox()
        self.clickhouse = ClickHouseStore(settings.clickhouse_url, settings.clickhouse_ttl_days)
        self.latest = open_latest_store(settings.redis_url, settings.redis_prefix)
        self.clickhouse_sink = ClickHouseSink(self.clickhouse)
        self.latest_sink = LatestSink(self.latest)
        self.prometheus = PrometheusSink(settings.metrics_symbols)
        sinks: list[Sink] = [self.outbox, self.clickhouse_sink, self.latest_sink, self.prometheus]
        self.registry = (
            BackgroundRegistry(settings.mlflow_uri, settings.registry_poll_s)
            if settings.mlflow_uri
            else None
        )
        self.pipeline = Pipeline(
            config, sinks, source=settings.ticks_topic, registry=self.registry,
            policy=checkpoint_policy(settings), warm_start=True, recover=self._recover,
            moves_aliases=True, max_ahead_s=settings.max_ahead_s, observe_latency=True,
        )  # fmt: skip
        self.partition_of: dict[str, int] = {}  # symbol -> partition of its ticks
        self.offsets = OffsetGuard()
        self.dirty: set[str] = set()
        self.lock = asyncio.Lock()
        self.unacked: list[Any] = []  # events processed but not yet cut into a batch
        self.repeats: list[Any] = []  # events delivered again, acknowledged with the batch
        self.release = release  # tells the consumer a repeat needs no acknowledgement
        self.highwater = highwater  # a partition's end offset, for the lag gauge
        self.produced_at: list[int] = []  # producers' send times (ms) of ticks not yet visible
        self.ack: Any = None
        self.last_flush = time.monotonic()
        self.latest_timer: asyncio.TimerHandle | None = None
        self.completing: asyncio.Future[None] | None = None
        self.warming = False  # champions were asked for and have not come yet

    def setup(self) -> None:
        """Connect the stores (ClickHouse schema, Redis ping) and start the registry's process
        before consuming; champions for warm starts are loaded as partitions are assigned."""
        self.clickhouse.setup()
        if not self.latest.ping():
            log.warning("latest store %s does not answer yet", self.settings.redis_url)
        if self.registry is not None:
            self.registry.start()

    def _recover(self, symbol: str) -> bytes | None:
        """The symbol's encoded state as the table (the changelog) holds it, if it does."""
        raw: bytes | None = self.table.get(symbol.encode())
        return raw

    async def process_event(self, event: Any, ack: Any) -> None:
        """Run one event through the core; flush once the batch is full."""
        async with self.lock:
            if self.warming:
                await self._warmed()
            if self.offsets.is_new(event.message.tp, event.message.offset):
                self._run_core(event)
                self.unacked.append(event)
            else:
                self.repeats.append(event)
            self.ack = ack
            if len(self.unacked) >= self.settings.flush_max_rows:
                await self._flush()

    async def flush_due(self) -> None:
        """The timer's turn: flush a batch that has waited a flush interval; when idle, adopt
        versions an operator promoted (with events pending, the next flush does)."""
        async with self.lock:
            idle = not (self.unacked or self.repeats)
            if idle or time.monotonic() - self.last_flush >= self.settings.flush_interval_s:
                await self._flush()

    async def flush_all(self) -> None:
        """At shutdown: checkpoint every symbol, write and ack whatever is pending."""
        async with self.lock:
            self.pipeline.checkpoint_all()
            await self._flush()
            if self.completing is not None:
                done, _ = await asyncio.wait({self.completing}, timeout=SHUTDOWN_WAIT_S)
                if not done:  # outputs still failing: what is unacknowledged comes again
                    self.completing.cancel()
                    log.error(
                        "outputs not written within %.0f s of shutdown: the last batch "
                        "stays unacknowledged and is processed again",
                        SHUTDOWN_WAIT_S,
                    )
        await self.kafka.stop()
        if self.registry is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.registry.close)

    async def _flush(self) -> None:
        """Wait for the batch in flight, cut the next one and start completing it."""
        await self._wait_completed()
        batch = self._cut()
        self.last_flush = time.monotonic()
        if not batch.is_empty():
            self.completing = asyncio.ensure_future(self._complete(batch))

    async def _wait_completed(self) -> None:
        if self.completing is not None:
            await self.completing
            self.completing = None

    def _cut(self) -> Batch:
        """Take the batch from the live buffers (between events, on the loop) and write the
        latest forecasts. Versions an operator promoted are adopted here, so their state is
        written with the batch."""
        self.dirty.update(self.pipeline.adopt_chosen())
        self._write_latest()
        forecasts, letters = self.outbox.take()
        batch = Batch(forecasts, letters, self.clickhouse_sink.take(), self._take_states(),
                      self.unacked, self.repeats, self.pipeline.take_arrivals())  # fmt: skip
        self.unacked, self.repeats = [], []
        self.pipeline.observe()
        return batch

    def _take_states(self) -> list[tuple[bytes, bytes, int]]:
        """Each touched symbol's state, pickled once, for the changelog partition of its ticks."""
        states = self.pipeline.states.states
        taken = []
        for symbol in self.dirty:
            key, value = symbol.encode(), encode_state(states[symbol])
            self.table.data[key] = value
            taken.append((key, value, self.partition_of[symbol]))
        self.dirty.clear()
        return taken

    async def _complete(self, batch: Batch) -> None:
        """Outputs written and confirmed, then states, then the acks. Never raises: a failing
        write is retried until it succeeds, so nothing is acknowledged unwritten."""
        await self._retry("outputs", self._write_outputs, batch)
        await self._retry("state", self._write_states, batch)
        for event in batch.events:
            await self.ack(event)
        for event in batch.repeats:  # Faust refuses a second ack of an offset and would wait
            await self.ack(event)  # for it at shutdown
            self.release(event.message)
        observe_processing(batch.arrivals)
        self._lag(observe=True)

    async def _retry(
        self, what: str, write: Callable[[Batch], Awaitable[None]], batch: Batch
    ) -> None:
        delay = 0.5
        while True:
            try:
                await write(batch)
                return
            except PermanentWriteError as exc:  # it would fail again: stop, unacknowledged
                log.critical("%s; the worker stops without acknowledging the batch, which is "
                             "processed again once this is fixed", exc)  # fmt: skip
                os._exit(EXIT_PERMANENT_WRITE)
            except Exception as exc:  # outputs down: keep them, wait, retry
                log.error("writing %s failed (%r); retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)

    async def _write_outputs(self, batch: Batch) -> None:
        """The forecasts topic and dead letters (sent first, confirmed last) and ClickHouse."""
        settings = self.settings
        sent = await self.kafka.send(settings.forecasts_topic, batch.forecasts)
        sent += await self.kafka.send(settings.dlq_topic, batch.dead_letters)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self.clickhouse_sink.writer, self.clickhouse_sink.write, batch.rows
        )
        await asyncio.wait_for(asyncio.gather(*sent), DELIVERY_TIMEOUT_S)
        SINK_BATCH_ROWS.labels("kafka").observe(len(batch.forecasts) + len(batch.dead_letters))
        batch.forecasts, batch.dead_letters = [], []

    async def _write_states(self, batch: Batch) -> None:
        changelog = self.table.changelog_topic.get_topic_name()
        sent = []
        for key, value, partition in batch.states:
            sent += await self.kafka.send(changelog, [(key, value, [])], partition=partition)
        await asyncio.wait_for(asyncio.gather(*sent), DELIVERY_TIMEOUT_S)
        batch.states = []

    def _write_latest_soon(self) -> None:
        """Schedule the latest forecasts' write ahead of the batch: readers of the latest store
        (the API, the live page) see a forecast within milliseconds, while the batch keeps its
        larger interval. Every output is still written before the state that covers it."""
        interval = self.settings.latest_interval_s
        if interval and self.latest_timer is None and not self.latest_sink.failures:
            loop = asyncio.get_running_loop()
            self.latest_timer = loop.call_later(interval, self._write_latest_if_caught_up)

    def _write_latest_if_caught_up(self) -> None:
        """While the worker works through a backlog its forecasts are late anyway, and a round
        trip every few milliseconds would slow it down further: the batch's cut writes them."""
        self.latest_timer = None
        if self._lag() <= CAUGHT_UP_LAG:
            self._write_latest()

    def _write_latest(self) -> None:
        """Write the latest forecasts now (on the loop, between events) and observe the
        end-to-end latency: producer's send to the latest forecast written."""
        if self.latest_timer is not None:
            self.latest_timer.cancel()
            self.latest_timer = None
        self.latest_sink.flush()
        now_ms = time.time() * 1000
        for sent in self.produced_at:
            END_TO_END_LATENCY.observe(max(0.0, now_ms - sent) / 1000)
        self.produced_at = []

    def _run_core(self, event: Any) -> None:
        """The core on one event; a failure here is a bug, and the process ends before
        anything unwritten is acknowledged."""
        try:
            self._step(event)
        except Exception:
            log.critical("the core failed; exiting without acknowledging", exc_info=True)
            os._exit(70)

    def _step(self, event: Any) -> None:
        pipeline = self.pipeline
        tick = pipeline.decode(event.value)
        if tick is None:
            return
        self.partition_of[tick.symbol] = event.message.partition
        if pipeline.process_tick(tick).status == "ok":
            self.dirty.add(tick.symbol)
            sent = _produced_at(event.message.headers)
            if sent is not None:  # a forecast readers will see: its end-to-end latency counts
                self.produced_at.append(sent)
            self._write_latest_soon()

    def _lag(self, observe: bool = False) -> int:
        """Events fetched or known to the consumer but not processed yet, over all partitions."""
        total = 0
        for tp, next_offset in self.offsets.next_offset.items():
            end = self.highwater(tp)
            if end is not None:
                lag = max(0, end - next_offset)
                total += lag
                if observe:
                    CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        return total

    async def forget(self, revoked: set[Any]) -> None:
        """Flush and complete what is pending, then drop the in-memory state of symbols whose
        partitions moved to another worker."""
        async with self.lock:
            await self._flush()
            await self._wait_completed()
            partitions = {tp.partition for tp in revoked if tp.topic == self.settings.ticks_topic}
            self.offsets.forget(revoked)
            gone = [s for s, p in self.partition_of.items() if p in partitions]
            for symbol in gone:
                self.pipeline.states.states.pop(symbol, None)
                del self.partition_of[symbol]
            if gone:
                log.info(
                    "partitions %s revoked: released %d symbols", sorted(partitions), len(gone)
                )

    def assign(self, assigned: set[Any]) -> None:
        """Ask the registry for the champions of the symbols in these partitions (only theirs:
        the other workers serve the rest); the next event waits for them (:meth:`_warmed`)."""
        partitions = sorted(
            tp.partition for tp in assigned if tp.topic == self.settings.ticks_topic
        )
        log.info("assigned partitions %s of %s", partitions, self.settings.ticks_topic)
        if self.registry is not None and partitions:
            self.registry.request_warm(set(partitions), self.settings.partitions)
            self.warming = True

    async def _warmed(self) -> None:
        """Wait (at most REGISTRY_WAIT_S) for the champions asked for at the last assignment:
        Faust delivers events while its assignment callbacks still run."""
        assert self.registry is not None
        deadline = time.monotonic() + REGISTRY_WAIT_S
        while not self.registry.wait_warm(0) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self.registry.wait_warm(0):
            log.warning("registry %s did not answer within %.0f s: symbols without state start "
                        "fresh", self.settings.mlflow_uri, REGISTRY_WAIT_S)  # fmt: skip
        self.warming = False


def _produced_at(headers: Any) -> int | None:
    """The producer's send time (epoch ms) from a message's headers, if it has one."""
    items = headers.items() if isinstance(headers, dict) else headers or ()
    for key, value in items:
        if key == PRODUCED_AT:
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None
