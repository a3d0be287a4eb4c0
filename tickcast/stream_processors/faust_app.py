"""The Faust app: topics, the per-symbol state table and the agent, declared in one place.

Recovery rules. Per-symbol state (features, models, pending forecasts, last event time) lives
in memory while the worker runs and in the table ``symbol-state`` (changelog topic
``<app_id>-symbol-state-changelog``, co-partitioned with ``ticks``) once per flush. Each batch
of ticks is one flush: (1) outputs are written and confirmed (forecasts topic, dead letters,
ClickHouse, Redis), (2) each touched symbol's state is written to the changelog once and
confirmed, (3) only then are the batch's events acknowledged, so their offsets may be
committed. A batch is ``flush_max_rows`` events or whatever waited ``flush_interval_s``.
(``take_events`` is not used: it acknowledges its batch in a ``finally``, even when the loop
body raised, which would let unwritten ticks be committed.) After a crash, Faust rebuilds the table
from the changelog, the ticks after the last commit are delivered again, the event-time
guard skips those the state already covers, and the rest produce the very same outputs
again, which ClickHouse collapses.

The table uses Faust's memory store: a restarted worker reads the compacted changelog (one
record per symbol). Faust's RocksDB store is not used because its writes need a current stream
event for their partition, and the state is written once per batch, outside any event.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from tickcast.config import Settings
from tickcast.online_model import CoreConfig
from tickcast.stream_processors.worker import WorkerShell

__all__ = ["STATE_TABLE", "build_app"]

log = logging.getLogger(__name__)
STATE_TABLE = "symbol-state"


def raw_schema() -> faust.Schema[Any, Any]:
    """Bytes in, bytes out. A new instance for every topic: one Schema object shared by two
    topics (a table's changelog takes its table's schema) silently starved the agent of events
    in faust-streaming 0.15."""
    return faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def build_app(settings: Settings, config: CoreConfig) -> tuple[faust.App, WorkerShell]:
    """The worker's Faust app with its topics, table and agent, and the shell they drive."""
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
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
    )

    def raw_topic(name: str, partitions: int) -> faust.TopicT:
        return app.topic(name, partitions=partitions, schema=raw_schema())

    ticks = raw_topic(settings.ticks_topic, settings.partitions)
    # bytes types (not a schema) make Faust use "raw" for the changelog, recovery included.
    table = app.Table(STATE_TABLE, partitions=settings.partitions, key_type=bytes, value_type=bytes)
    shell = WorkerShell(
        settings, config, producer=app.producer, table=table,
        forecasts=raw_topic(settings.forecasts_topic, settings.partitions),
        dlq=raw_topic(settings.dlq_topic, 1),
    )  # fmt: skip

    @app.agent(ticks, name="forecast-ticks")
    async def forecast_ticks(stream: Any) -> None:
        manual = stream.noack()  # acks are ours: only after the batch is flushed
        async for event in manual.events():
            await shell.process_event(event, manual.ack)

    async def flush_idle_batch() -> None:
        await shell.flush_due()

    app.timer(settings.flush_interval_s / 2)(flush_idle_batch)

    async def on_revoked(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        await shell.forget(args[0] if args else kwargs.get("revoked", set()))

    async def on_assigned(app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        shell.assign(args[0] if args else kwargs.get("assigned", set()))

    app.on_partitions_revoked.connect(on_revoked)
    app.on_partitions_assigned.connect(on_assigned)
    return app, shell
