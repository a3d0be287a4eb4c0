"""The Faust worker's shell: decode a batch of Kafka events, run the core, flush in order.

The core runs through the same :class:`Pipeline` as the embedded runner. The shell adds what
Kafka needs: per-symbol state loaded from and written to the Faust table, the ``forecasts`` and
``ticks.dlq`` topics, and the flush order of DESIGN.md (outputs, then state, then the ack that
acknowledgement of the batch's events).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import time
from collections.abc import Callable
from typing import Any

from tickcast.config import Settings
from tickcast.monitor.metrics import CONSUMER_LAG, END_TO_END_LATENCY, SINK_BATCH_ROWS
from tickcast.online_model import CoreConfig, StepResult, SymbolState
from tickcast.producers.kafka_publisher import PRODUCED_AT, REASON
from tickcast.records import Tick, forecasts_message
from tickcast.stores import ClickHouseStore, open_latest_store
from tickcast.stores.registry import BackgroundRegistry
from tickcast.stream_processors.pipeline import Pipeline, checkpoint_policy
from tickcast.stream_processors.sinks import (
    ClickHouseSink,
    HeldSink,
    LatestSink,
    PrometheusSink,
    Sink,
)

__all__ = ["OffsetGuard", "Outbox", "WorkerShell"]

log = logging.getLogger(__name__)
PICKLE_PROTOCOL = 5
MAX_RETRY_DELAY_S = 10.0
DELIVERY_TIMEOUT_S = 30.0
REGISTRY_WAIT_S = 10.0


class Outbox(HeldSink):
    """Keeps this batch's Kafka messages (forecasts, dead letters) until the shell sends them."""

    def __init__(self) -> None:
        super().__init__()
        self.forecasts: list[tuple[bytes, bytes]] = []

    def add(self, tick: Tick, result: StepResult) -> None:
        if result.forecasts:
            self.forecasts.append((tick.symbol.encode(), forecasts_message(result.forecasts)))


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
    """Per-process worker state: the pipeline, the table and topics, the symbols' partitions."""

    def __init__(
        self,
        settings: Settings,
        config: CoreConfig,
        *,
        producer: Any,
        table: Any,
        forecasts: Any,
        dlq: Any,
        release: Callable[[Any], None] = lambda message: None,
        highwater: Callable[[Any], int | None] = lambda tp: None,
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.table = table
        self.forecasts_topic = forecasts
        self.dlq_topic = dlq
        self.outbox = Outbox()
        self.clickhouse = ClickHouseStore(settings.clickhouse_url, settings.clickhouse_ttl_days)
        self.latest = open_latest_store(settings.redis_url)
        sinks: list[Sink] = [self.outbox, ClickHouseSink(self.clickhouse), LatestSink(self.latest),
                             PrometheusSink(settings.metrics_symbols)]  # fmt: skip
        self.registry = (
            BackgroundRegistry(settings.mlflow_uri, settings.registry_poll_s)
            if settings.mlflow_uri
            else None
        )
        self.pipeline = Pipeline(
            config, sinks, source=settings.ticks_topic, registry=self.registry,
            policy=checkpoint_policy(settings), warm_start=True, recover=self._recover,
        )  # fmt: skip
        self.partition_of: dict[str, int] = {}  # symbol -> partition of its ticks
        self.offsets = OffsetGuard()
        self.dirty: set[str] = set()
        self.lock = asyncio.Lock()
        self.unacked: list[Any] = []  # events processed but not yet flushed and acknowledged
        self.repeats: list[Any] = []  # events delivered again, acknowledged with the batch
        self.release = release  # tells the consumer a repeat needs no acknowledgement
        self.highwater = highwater  # a partition's end offset, for the lag gauge
        self.produced_at: list[int] = []  # producers' send times (ms) of this batch's ticks
        self.ack: Any = None
        self.last_flush = time.monotonic()

    def setup(self) -> None:
        """Connect the stores (ClickHouse schema, Redis ping, the registry's champions for
        warm starts) before consuming."""
        self.clickhouse.setup()
        if not self.latest.ping():
            log.warning("latest store %s does not answer yet", self.settings.redis_url)
        if self.registry is not None and not self.registry.start().wait_ready(REGISTRY_WAIT_S):
            log.warning("registry %s not ready: symbols without state start fresh",
                        self.settings.mlflow_uri)  # fmt: skip

    def _recover(self, symbol: str) -> SymbolState | None:
        """The symbol's state as the table (the changelog) holds it, if it does."""
        raw = self.table.get(symbol.encode())
        if raw is None:
            return None
        state: SymbolState = pickle.loads(raw)  # only our own workers write this changelog
        log.info("recovered %s at event time %s", symbol, state.last_ts)
        return state

    async def process_event(self, event: Any, ack: Any) -> None:
        """Run one event through the core; flush and ack once the batch is full."""
        async with self.lock:
            if self.offsets.is_new(event.message.tp, event.message.offset):
                self._run_core(event)
                self.unacked.append(event)
            else:
                self.repeats.append(event)
            self.ack = ack
            if len(self.unacked) >= self.settings.flush_max_rows:
                await self._flush_and_ack()

    async def flush_due(self) -> None:
        """The timer's turn: write and ack a batch that has waited a flush interval; when idle,
        adopt versions an operator promoted (with events pending, the next flush does)."""
        async with self.lock:
            if self.unacked or self.repeats:
                if time.monotonic() - self.last_flush >= self.settings.flush_interval_s:
                    await self._flush_and_ack()
            else:
                await self._write_states()

    async def flush_all(self) -> None:
        """At shutdown: checkpoint every symbol, write and ack whatever is pending."""
        async with self.lock:
            self.pipeline.checkpoint_all()
            await self._flush_pending()
        if self.registry is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.registry.close)

    async def _flush_pending(self) -> None:
        if self.unacked or self.repeats:
            await self._flush_and_ack()

    async def _flush_and_ack(self) -> None:
        """Flush in order, then acknowledge the batch. Never raises: a failing output is
        retried until it succeeds (back-pressure), so nothing is acknowledged unwritten."""
        delay = 0.5
        while True:
            try:
                await self._flush()
                break
            except Exception as exc:  # outputs down: keep them, wait, retry
                log.error("flush failed (%r); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY_S)
        for event in self.unacked:
            await self.ack(event)
        for event in self.repeats:  # Faust refuses a second ack of an offset and would wait
            await self.ack(event)  # for it at shutdown
            self.release(event.message)
        self.unacked, self.repeats = [], []
        self.last_flush = time.monotonic()

    def _run_core(self, event: Any) -> None:
        """The core on one event; a failure here is a bug, and the process ends before
        anything unwritten is acknowledged."""
        try:
            self._step(event)
        except Exception:
            log.critical("the core failed; exiting without acknowledging", exc_info=True)
            os._exit(70)

    def _step(self, event: Any) -> None:
        sent = _produced_at(event.message.headers)
        if sent is not None:
            self.produced_at.append(sent)
        pipeline = self.pipeline
        tick = pipeline.decode(event.value)
        if tick is None:
            return
        self.partition_of[tick.symbol] = event.message.partition
        if pipeline.process_tick(tick).status == "ok":
            self.dirty.add(tick.symbol)

    async def _flush(self) -> None:
        """(1) outputs written and confirmed, (2) touched states to the changelog, confirmed."""
        outbox = self.outbox
        send = self.producer.send  # the app's producer: far cheaper per message than Topic.send
        forecasts, dlq = self.forecasts_topic.get_topic_name(), self.dlq_topic.get_topic_name()
        pending = [
            await send(forecasts, key, value, None, None, None) for key, value in outbox.forecasts
        ]
        pending += [
            await send(
                dlq,
                None,
                letter.original or letter.payload.encode(),
                None,
                None,
                [(REASON, letter.reason.encode()), ("source", letter.source.encode())],
            )
            for letter in outbox.dead_letters
        ]
        await asyncio.get_running_loop().run_in_executor(None, self.pipeline.drain)
        self._observe_delivery()
        await asyncio.wait_for(asyncio.gather(*pending), DELIVERY_TIMEOUT_S)
        SINK_BATCH_ROWS.labels("kafka").observe(len(pending))
        outbox.forecasts, outbox.dead_letters = [], []  # only once delivered
        await self._write_states()

    def _observe_delivery(self) -> None:
        """End-to-end latency (producer's send to the latest forecast written) and lag."""
        now_ms = time.time() * 1000
        for sent in self.produced_at:
            END_TO_END_LATENCY.observe(max(0.0, now_ms - sent) / 1000)
        self.produced_at = []
        for tp, next_offset in self.offsets.next_offset.items():
            end = self.highwater(tp)
            if end is not None:
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - next_offset))

    async def _write_states(self) -> None:
        """Each touched symbol's state, once, to the changelog partition of its ticks; versions
        an operator promoted are adopted first, so their state is written too."""
        self.dirty.update(self.pipeline.adopt_chosen())
        states = self.pipeline.states.states
        changelog = self.table.changelog_topic
        pending = []
        for symbol in self.dirty:
            value = pickle.dumps(states[symbol], protocol=PICKLE_PROTOCOL)
            key = symbol.encode()
            self.table.data[key] = value
            partition = self.partition_of[symbol]
            pending.append(await changelog.send(key=key, value=value, partition=partition))
        await asyncio.wait_for(asyncio.gather(*pending), DELIVERY_TIMEOUT_S)
        self.dirty.clear()

    async def forget(self, revoked: set[Any]) -> None:
        """Flush what is pending, then drop the in-memory state of symbols whose partitions
        moved to another worker."""
        async with self.lock:
            await self._flush_pending()
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
        partitions = sorted(
            tp.partition for tp in assigned if tp.topic == self.settings.ticks_topic
        )
        log.info("assigned partitions %s of %s", partitions, self.settings.ticks_topic)


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
