"""The Faust app: topics, the per-symbol state table and the agent, declared in one place.

Recovery rules. Per-symbol state (features, models, pending forecasts, last event time) lives
in memory while the worker runs and, encoded by :mod:`tickcast.codecs`, in the table
``symbol-state`` (changelog topic
``<app_id>-symbol-state-changelog``, co-partitioned with ``ticks``) once per flush. Each batch
of ticks is one flush: (1) outputs are written and confirmed (forecasts topic, dead letters,
ClickHouse, Redis), (2) each touched symbol's state is written to the changelog once and
confirmed, (3) only then are the batch's events acknowledged, so their offsets may be
committed. A batch is ``flush_max_rows`` events or whatever waited ``flush_interval_s``; it
is written while the stream goes on with the next one (see :class:`WorkerShell`), and the
latest forecasts reach Redis within ``latest_interval_s``, ahead of their batch.
(``take_events`` is not used: it acknowledges its batch in a ``finally``, even when the loop
body raised, which would let unwritten ticks be committed.) After a crash, Faust rebuilds the table
from the changelog, the ticks after the last commit are delivered again, the event-time
guard skips those the state already covers, and the rest produce the very same outputs
again, which ClickHouse collapses. Two Faust delivery faults are guarded against: the stream
buffer emptied at the end of recovery (see :class:`ResumeKeepsFetched`), and records delivered
a second time after a seek (the shell's ``OffsetGuard`` runs each offset once).

The table uses Faust's memory store: a restarted worker reads the compacted changelog (one
record per symbol). Faust's RocksDB store is not used because its writes need a current stream
event for their partition, and the state is written once per batch, outside any event.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as drv
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from tickcast.config import KafkaAuth, Settings
from tickcast.stream_processors.worker import WorkerShell

__all__ = ["STATE_TABLE", "ResumeKeepsFetched", "ShellFactory", "TickcastApp", "build_app"]

log = logging.getLogger(__name__)
STATE_TABLE = "symbol-state"
# Events already in the agent's queue are stepped together (one core call, one lock), up to
# this many; an event with nothing queued behind it runs at once, so batching adds no wait.
DELIVERED_MAX = 500
FETCH_MAX_WAIT_MS = 10  # 10 cost a quarter of the throughput through a backlog; 100 did not
CONSUMER_STOP_S = 15.0  # a healthy consumer thread stops in well under a second
FAUST_STOP_S = 15.0  # the rest of Faust's stop: offsets committed, its producer flushed
EXIT_STUCK = 75  # sysexits' EX_TEMPFAIL: stopped, but Faust's clients did not let go


def raw_schema() -> faust.Schema[Any, Any]:
    """Bytes in, bytes out. A new instance for every topic: one Schema object shared by two
    topics (a table's changelog takes its table's schema) silently starved the agent of events
    in faust-streaming 0.15."""
    return faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


class ResumeKeepsFetched(FlowControlEvent):
    """Flow control whose ``resume()`` empties the stream buffers only when it ends a suspension.

    faust-streaming 0.15 calls ``resume()`` twice after a rebalance that recovers a table: once
    to read the changelog, and again once recovery completes, after it resumed the stream's
    partitions and awaited the seek to the committed offsets. Records fetched during that await
    are already in the agent's buffer and past the consumer's read position; emptying the buffer
    there lost them for good (a contiguous run per partition, about 1 restart in 5). The buffers
    from before a rebalance are still dropped: Faust empties them when it suspends the flow, and
    the first ``resume()`` ends that suspension. A record that arrives twice this way (fetched,
    then fetched again after the seek) is passed over by the shell's offset check.
    """

    def resume(self) -> None:
        if self.is_active():  # already flowing: these buffers hold this generation's records
            log.debug("flow already active: keeping the fetched records")
            return
        super().resume()


class PromptConsumerThread(drv.AIOKafkaConsumerThread):
    """Faust's consumer with a short fetch wait (``FETCH_MAX_WAIT_MS`` instead of 1,500 ms).

    A fetch built while the busy partitions' records are still being handed to the stream
    names only idle partitions, and the broker holds it for the whole wait while the others'
    ticks pile up (bench/latency.py: forecasts 1.1-1.6 s late at 1,000 ticks/s). Faust
    hard-codes the wait, hence this subclass.
    """

    # mode waits a minute for a thread that stopped to say so; with the broker down, Faust's
    # consumer thread dies stopping (a fetch it cancels) and never does: a stop took 62 s.
    shutdown_timeout = CONSUMER_STOP_S

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by the fetcher made at start
        return consumer


class PromptConsumer(drv.Consumer):
    def _new_consumer_thread(self) -> PromptConsumerThread:
        return PromptConsumerThread(self, loop=self.loop, beacon=self.beacon)


class PromptTransport(drv.Transport):
    Consumer = PromptConsumer


class TickcastApp(faust.App):
    """faust.App with :class:`ResumeKeepsFetched` as its flow control, a last flush at stop and
    the :class:`PromptConsumerThread`.

    Faust's own stop waits for every delivered event to be acknowledged, but the timer that
    flushes batches has stopped by then, so a stop with events still in a batch waited forever.
    Here the stop halts delivery, runs ``final_flush`` (outputs, state, acks), and then lets
    Faust commit what was acknowledged (``stream_wait_empty=False``): an event that slipped in
    after the flush is not committed, and is delivered again to the next worker.
    """

    final_flush: Callable[[], Awaitable[None]] | None = None

    def _new_transport(self) -> Any:
        return PromptTransport(self.conf.broker_consumer, self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return ResumeKeepsFetched(loop=self.loop)

    async def on_stop(self) -> None:
        if self.final_flush is not None:
            self.consumer.stop_flow()
            self.flow_control.suspend()  # buffered events are passed over, not processed
            await self.final_flush()
        # What is ours is written (or given up, unacknowledged); Faust's own stop commits the
        # acknowledged offsets and stops its clients, and with the brokers down it waited on
        # them without end: it gets FAUST_STOP_S, then the process ends.
        # (not cancelled when on_stop returns: Faust stops its consumer and producer after it,
        # where the wait was; a daemon timer ends with a process that ends in time)
        watchdog = threading.Timer(FAUST_STOP_S, _exit_stuck)
        watchdog.daemon = True
        watchdog.start()
        await super().on_stop()


def _exit_stuck() -> None:
    log.error("Faust did not stop within %.0f s of the final flush: exiting", FAUST_STOP_S)
    logging.shutdown()
    os._exit(EXIT_STUCK)


def _credentials(auth: KafkaAuth) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """Faust's words for how to log in to the brokers."""
    import ssl

    context = ssl.create_default_context() if auth.tls else None
    if auth.username:
        return faust.SASLCredentials(
            username=auth.username,
            password=auth.password.get_secret_value(),
            mechanism=auth.mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context) if context is not None else None


# The composition root's: the shell over the app's table, with how to release a repeat's
# acknowledgement and read a partition's end offset (tickcast.bootstrap.faust_worker).
ShellFactory = Callable[[Any, Callable[[Any], None], Callable[[Any], int | None]], WorkerShell]


def build_app(settings: Settings, shell_of: ShellFactory) -> tuple[faust.App, WorkerShell]:
    """The worker's Faust app with its topics, table and agent, and the shell they drive
    (made by ``shell_of``: the app is handed what it needs, it builds nothing of tickcast's)."""
    app = TickcastApp(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=_credentials(settings.kafka_auth),
        store="memory://",  # rebuilt from the compacted changelog at start; see note below
        datadir=settings.state_dir,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_interval=1.0,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        web_enabled=False,
        table_standby_replicas=0,
        stream_wait_empty=False,  # the final flush acknowledges instead; see TickcastApp
    )

    def raw_topic(name: str, partitions: int) -> faust.TopicT:
        return app.topic(name, partitions=partitions, schema=raw_schema())

    ticks = raw_topic(settings.ticks_topic, settings.partitions)
    # bytes types (not a schema) make Faust use "raw" for the changelog, recovery included.
    table = app.Table(STATE_TABLE, partitions=settings.partitions, key_type=bytes, value_type=bytes)
    shell = shell_of(
        table,
        lambda message: app.consumer.unacked.discard(message),
        lambda tp: app.consumer.highwater(tp),
    )

    @app.agent(ticks, name="forecast-ticks")
    async def forecast_ticks(stream: Any) -> None:
        manual = stream.noack()  # acks are ours: only after the batch is flushed
        delivered: list[Any] = []
        async for event in manual.events():
            delivered.append(event)
            if len(delivered) >= DELIVERED_MAX or manual.channel.empty():
                await shell.process_events(delivered, manual.ack)
                delivered = []

    app.final_flush = shell.flush_all

    async def flush_timer() -> None:  # a plain loop: app.timer warns whenever a flush is slow
        while not app.should_stop:
            await asyncio.sleep(settings.flush_interval_s / 2)
            await shell.flush_due()

    app.task(flush_timer)

    async def watch_loop() -> None:
        await shell.loop_watch.run(lambda: app.should_stop)

    app.task(watch_loop)

    async def on_revoked(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await shell.forget(args[0] if args else kwargs.get("revoked", set()))

    async def on_assigned(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        shell.assign(args[0] if args else kwargs.get("assigned", set()))

    app.on_partitions_revoked.connect(on_revoked)
    app.on_partitions_assigned.connect(on_assigned)
    return app, shell
