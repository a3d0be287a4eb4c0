"""The Faust worker's shell: what is Faust's around the :class:`Runtime` that owns the batch.

The events Faust delivers go to the same runtime as the embedded runner's records (built by
:mod:`tickcast.bootstrap`), which steps them, cuts the batches and completes them in its order
(outputs, then state, then checkpoints, then the acknowledgements, docs/architecture.md). The
shell keeps what Kafka needs: the offsets seen (a record delivered twice runs once), the
acknowledgements (a repeat's released), the symbols' partitions (their states go to the
changelog partition of their ticks), rebalances (states dropped, champions asked for), the
consumer's lag and what ends the process.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from tickcast.config import Settings, redact
from tickcast.events import emit
from tickcast.exceptions import PermanentWriteError
from tickcast.monitor.loop import LoopWatch
from tickcast.monitor.prometheus import CONSUMER_LAG, END_TO_END_LATENCY
from tickcast.producers.kafka_publisher import PRODUCED_AT
from tickcast.stores import ClickHouseStore, LatestStore
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors.delivery import Ack, Event, Message, OffsetGuard, TopicPartition
from tickcast.stream_processors.kafka_outputs import KafkaOutputs
from tickcast.stream_processors.pipeline import Processed
from tickcast.stream_processors.runtime import Runtime

__all__ = ["WorkerShell"]

log = logging.getLogger(__name__)
REGISTRY_WAIT_S = 10.0
SHUTDOWN_WAIT_S = 30.0
OUTPUTS_STOP_S = 10.0
# Events behind the partitions' ends: more, and the latest forecasts wait for the batch's cut.
# A fetch at 1,000 ticks/s brings a few hundred at once (100 here deferred 1 write in 20), and a
# backlog is thousands.
CAUGHT_UP_LAG = 2000
EXIT_PERMANENT_WRITE = 74  # sysexits' EX_IOERR: an output refused the batch for good
EXIT_CORE_FAILURE = 70  # sysexits' EX_SOFTWARE: a bug


class WorkerShell:
    """Faust's side of a worker: the events as Faust delivers them (those already queued
    together, ``build_app``'s agent), the offsets seen, the acknowledgements, the symbols'
    partitions, rebalances, the lag that decides whether the latest forecasts go ahead of their
    batch. A permanent write error ends the process (status 74) without acknowledging the
    batch; a failure of the core itself is a bug, and ends it with status 70
    (``docs/architecture.md``).
    """

    def __init__(
        self,
        settings: Settings,
        runtime: Runtime,
        *,
        kafka: KafkaOutputs,
        clickhouse: ClickHouseStore,
        latest: LatestStore,
        registry: BackgroundRegistry | None,
        partition_of: dict[str, int],
        release: Callable[[Message], None] = lambda message: None,
        highwater: Callable[[TopicPartition], int | None] = lambda tp: None,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        runtime.ack = self._acknowledge
        self.kafka = kafka
        self.clickhouse = clickhouse
        self.latest = latest
        self.registry = registry
        self.partition_of = partition_of  # symbol -> partition of its ticks
        self.offsets = OffsetGuard()
        self.lock = asyncio.Lock()
        self.repeats: set[Message] = set()  # delivered again: released once acknowledged
        self.release = release  # tells the consumer a repeat needs no acknowledgement
        self.highwater = highwater  # a partition's end offset, for the lag gauge
        self.produced_at: list[int] = []  # producers' send times (ms) of ticks not yet visible
        self.ack: Ack | None = None
        self.latest_timer: asyncio.TimerHandle | None = None
        self.warming = False  # champions were asked for and have not come yet
        self.loop_watch = LoopWatch()  # run by the app; counts from the first caught-up batch
        self.steady = False  # a batch was written while caught up: startup is over
        self.batches_written = 0

    def setup(self) -> None:
        """Connect the stores (ClickHouse schema, Redis ping) and start the registry's process
        before consuming; champions for warm starts are loaded as partitions are assigned."""
        self.clickhouse.setup()
        if not self.latest.ping():
            log.warning("latest store %s does not answer yet", redact(self.settings.redis_url))
        if self.registry is not None:
            self.registry.start()

    async def process_events(self, events: Sequence[Event], ack: Ack) -> None:
        """Hand the events Faust has delivered so far to the runtime at once (one core call for
        the lot); a record delivered again is only acknowledged with the batch."""
        async with self.lock:
            if self.warming:
                await self._warmed()
            self.ack = ack
            fresh, repeats = [], []
            for event in events:
                message = event.message
                if self.offsets.is_new(message.tp, message.offset):
                    fresh.append(event)
                else:
                    repeats.append(event)
                    self.repeats.add(message)
            self.runtime.hold(repeats)
            self._stepped(fresh, self._run_core(fresh))
            if self.runtime.due():
                await self._flush()

    async def flush_due(self) -> None:
        """The timer's turn: flush a batch that is due; when idle, too (versions an operator
        promoted are adopted at a cut)."""
        async with self.lock:
            if not self.runtime.events or self.runtime.due():
                await self._flush()

    async def flush_all(self) -> None:
        """At shutdown: checkpoint every symbol, write and ack whatever is pending, within
        SHUTDOWN_WAIT_S whatever is down (then what is unacknowledged comes again). The stream
        may hold the lock while it waits on a batch that cannot be written: that batch is given
        up at the deadline, which lets the stream go."""
        deadline = time.monotonic() + SHUTDOWN_WAIT_S
        try:
            await asyncio.wait_for(self.lock.acquire(), SHUTDOWN_WAIT_S)
        except TimeoutError:  # the stream waits on the batch in flight: let it go
            if self.runtime.completing is not None:
                self._give_up()
            await self.lock.acquire()
        try:
            self.runtime.pipeline.checkpoint_all()
            if await self._settled(deadline):  # the batch in flight, then the last one
                await self._flush()
                await self._settled(deadline)
        finally:
            self.lock.release()
        await self.runtime.drain_latest(max(1.0, deadline - time.monotonic()))
        log.info("%s after %d batches", self.loop_watch.summary(), self.batches_written)
        try:  # with the brokers down, the producer would wait for every batch it holds
            await asyncio.wait_for(self.kafka.stop(), OUTPUTS_STOP_S)
        except TimeoutError:
            log.error("the outputs' producer did not stop within %.0f s", OUTPUTS_STOP_S)
        if self.registry is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.registry.close)

    async def _settled(self, deadline: float) -> bool:
        """Whether the batch in flight (if any) was written by ``deadline``; if not, it is
        given up."""
        completing = self.runtime.completing
        if completing is None:
            return True
        done, _ = await asyncio.wait({completing}, timeout=max(0.0, deadline - time.monotonic()))
        if not done:
            self._give_up()
        return bool(done)

    def _give_up(self) -> None:
        """Stop writing the batch in flight, and say so in one line: unacknowledged, it is
        delivered again (to this worker's successor) and processed again."""
        completing, self.runtime.completing = self.runtime.completing, None
        if completing is not None:
            completing.cancel()
        emit(
            log,
            "batch_given_up",
            "outputs not written within %.0f s of shutdown: the last batch stays "
            "unacknowledged and is processed again",
            SHUTDOWN_WAIT_S,
            level=logging.ERROR,
        )

    async def _flush(self) -> None:
        """Cut the batch and start completing it (the runtime's); watch how it ends."""
        await self.runtime.flush()
        self._observe_latest()
        if self.runtime.completing is not None:
            self.runtime.completing.add_done_callback(self._completed)

    async def _acknowledge(self, event: Event) -> None:
        assert self.ack is not None, "events come with their acknowledgement"
        await self.ack(event)
        if event.message in self.repeats:  # Faust refuses a second ack of an offset and would
            self.repeats.discard(event.message)  # wait for it at shutdown
            self.release(event.message)

    def _completed(self, completion: asyncio.Future[None]) -> None:
        """After a batch: the lag gauges, or the end of the process on a failed write."""
        if completion.cancelled():
            return
        error = completion.exception()
        if error is None:
            if not self.steady and self._lag() <= CAUGHT_UP_LAG:
                self._settle()
            self.batches_written += 1
            self._lag(observe=True)
            return
        if isinstance(error, PermanentWriteError):
            emit(
                log,
                "write_refused",
                "%s; the worker stops without acknowledging the batch, which is "
                "processed again once this is fixed",
                error,
                level=logging.CRITICAL,
                reason=str(error),
            )
            os._exit(EXIT_PERMANENT_WRITE)
        log.critical(
            "writing a batch failed unexpectedly; exiting without acknowledging it", exc_info=error
        )
        os._exit(EXIT_CORE_FAILURE)

    def _settle(self) -> None:
        """Startup is over. What it built (modules, clients, the recovered states) lives as long
        as the process: frozen out of the collector, a full collection no longer walks it, and
        no longer holds the event loop for 100 ms (measured: every ~20 s at 1,000 ticks/s)."""
        self.steady = True
        gc.freeze()
        self.loop_watch.reset()
        batches = self.batches_written
        emit(
            log,
            "caught_up",
            "caught up after %d batches: event loop watched from here",
            batches,
            batches=batches,
        )

    def _write_latest_soon(self) -> None:
        """Schedule the latest forecasts' write ahead of the batch: readers of the latest store
        (the API, the live page) see a forecast within milliseconds, while the batch keeps its
        larger interval. Every output is still written before the state that covers it."""
        interval = self.settings.latest_interval_s
        latest = self.runtime.latest
        if interval and self.latest_timer is None and latest is not None and not latest.failures:
            loop = asyncio.get_running_loop()
            self.latest_timer = loop.call_later(interval, self._write_latest_if_caught_up)

    def _write_latest_if_caught_up(self) -> None:
        """While the worker works through a backlog its forecasts are late anyway, and a round
        trip every few milliseconds would slow it down further: the batch's cut writes them."""
        self.latest_timer = None
        if self._lag() <= CAUGHT_UP_LAG:
            self.runtime.publish_latest()
            self._observe_latest()

    def _observe_latest(self) -> None:
        """The end-to-end latency of the ticks whose forecasts were just written: producer's
        send to the latest forecast written."""
        if self.latest_timer is not None:
            self.latest_timer.cancel()
            self.latest_timer = None
        now_ms = time.time() * 1000
        for sent in self.produced_at:
            END_TO_END_LATENCY.observe(max(0.0, now_ms - sent) / 1000)
        self.produced_at = []

    def _run_core(self, events: Sequence[Event]) -> Processed:
        """The runtime on these events; a failure here is a bug, and the process ends before
        anything unwritten is acknowledged."""
        try:
            return self.runtime.process(
                [event.value for event in events],
                [event.message.key or b"" for event in events],
                events,
            )
        except BaseException as exc:  # a panic of the compiled core is a BaseException
            if isinstance(exc, KeyboardInterrupt | SystemExit | asyncio.CancelledError):
                raise
            log.critical("the core failed; exiting without acknowledging", exc_info=True)
            os._exit(EXIT_CORE_FAILURE)

    def _stepped(self, events: Sequence[Event], processed: Processed) -> None:
        """Each stepped symbol's partition (its state may be written to the changelog, a
        duplicate's too), and the producers' send times of the ticks forecast."""
        served = False
        verdicts = iter(processed.verdicts)
        for event, tick in zip(events, processed.ticks, strict=True):
            if tick is None:
                continue
            verdict = next(verdicts)
            message = event.message
            self.partition_of[tick.symbol] = message.partition
            if verdict == "ok":
                served = True
                sent = _produced_at(message.headers)
                if sent is not None:  # a forecast readers will see: its end-to-end latency
                    self.produced_at.append(sent)
        if served:
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

    async def forget(self, revoked: set[TopicPartition]) -> None:
        """Flush and complete what is pending, then drop the in-memory state of symbols whose
        partitions moved to another worker."""
        async with self.lock:
            await self._flush()
            await self.runtime.wait_completed()
            partitions = {tp.partition for tp in revoked if tp.topic == self.settings.ticks_topic}
            self.offsets.forget(revoked)
            gone = [s for s, p in self.partition_of.items() if p in partitions]
            self.runtime.pipeline.forget(gone)
            for symbol in gone:
                del self.partition_of[symbol]
            if gone:
                log.info(
                    "partitions %s revoked: released %d symbols", sorted(partitions), len(gone)
                )

    def assign(self, assigned: set[TopicPartition]) -> None:
        """Ask the registry for the champions of the symbols in these partitions (only theirs:
        the other workers serve the rest); the next event waits for them (:meth:`_warmed`)."""
        partitions = sorted(
            tp.partition for tp in assigned if tp.topic == self.settings.ticks_topic
        )
        topic = self.settings.ticks_topic
        emit(
            log,
            "partitions_assigned",
            "assigned partitions %s of %s",
            partitions,
            topic,
            partitions=partitions,
            topic=topic,
        )
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
            log.warning(
                "registry %s did not answer within %.0f s: symbols without state start fresh",
                self.registry.address,
                REGISTRY_WAIT_S,
            )
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
