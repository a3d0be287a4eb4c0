"""The one composition root: stores, sinks, registry, pipeline and runtime from settings.

Every entry point (the ``tickcast`` commands, the Faust app, ``bench/``, the tests) builds
what it runs here, so a replay, a worker and a backtest differ only in what they are given:

- :func:`embedded` for ``replay`` and ``demo``: ClickHouse (chdb by default), the latest store,
  Prometheus, checkpoints to the registry (they move no alias unless asked);
- :func:`faust_worker` for ``tickcast worker``: the Faust app, handed the shell :func:`worker`
  builds (the same plus the forecasts topic, the dead-letter topic, the changelog, recovery
  and warm starts);
- :func:`runtime`: any sinks, for ``tickcast backtest`` (none, or a MemorySink for a
  report), ``bench/`` and the tests.

Nothing below calls up: the Faust app, the runtime and the pipeline are handed what they use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tickcast.codecs import StateCodec
from tickcast.config import Settings
from tickcast.online_model import CoreConfig
from tickcast.online_model.checkpoints import CheckpointPolicy
from tickcast.retry import Backoff
from tickcast.state_keys import state_codec
from tickcast.stores import ClickHouseStore, LatestStore, open_latest_store
from tickcast.stores.registry import Registry
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors.bounds import Bounds, bounds_of
from tickcast.stream_processors.kafka_outputs import (
    ChangelogSink,
    DeadLetterSink,
    KafkaOutputs,
    TopicSink,
)
from tickcast.stream_processors.observers import PrometheusObserver
from tickcast.stream_processors.pipeline import Pipeline
from tickcast.stream_processors.runtime import (
    FLUSH_INTERVAL_S,
    FLUSH_MAX_ROWS,
    Observer,
    Runtime,
    StateSink,
)
from tickcast.stream_processors.sinks import ClickHouseSink, LatestSink, RegistrySink, Sink
from tickcast.stream_processors.state_sources import StateSources
from tickcast.stream_processors.worker import WorkerShell

if TYPE_CHECKING:
    import faust

__all__ = [
    "Stores",
    "checkpoint_policy",
    "embedded",
    "faust_worker",
    "open_stores",
    "registry_client",
    "registry_of",
    "runtime",
    "worker",
]


@dataclass
class Stores:
    """The stores a process writes and reads."""

    clickhouse: ClickHouseStore
    latest: LatestStore

    def close(self) -> None:
        self.clickhouse.close()
        close = getattr(self.latest, "close", None)
        if close is not None:
            close()


def open_stores(settings: Settings, *, setup: bool = True, reader: bool = False) -> Stores:
    """ClickHouse (its schema ensured when ``setup``) and the latest store of ``settings``;
    ``reader``: the API's, whose ClickHouse session may only read."""
    clickhouse = ClickHouseStore(
        settings.clickhouse_url,
        settings.clickhouse_ttl_days,
        username=settings.clickhouse_username,
        password=settings.clickhouse_password.get_secret_value(),
        read_only=reader,
    )
    if setup:
        clickhouse.setup()
    latest = open_latest_store(
        settings.redis_url,
        settings.redis_prefix,
        settings.redis_username,
        settings.redis_password.get_secret_value(),
    )
    return Stores(clickhouse, latest)


def checkpoint_policy(settings: Settings) -> CheckpointPolicy:
    return CheckpointPolicy(
        settings.checkpoint_every_labels,
        settings.checkpoint_every_s,
        settings.checkpoint_min_interval_s,
    )


def runtime(
    config: CoreConfig,
    sinks: Sequence[Sink[Any]] = (),
    *,
    latest: LatestStore | None = None,
    states: StateSink | None = None,
    registry: BackgroundRegistry | None = None,
    policy: CheckpointPolicy | None = None,
    source: str = "ticks",
    warm_start: bool = False,
    recover: Callable[[str], bytes | None] | None = None,
    moves_aliases: bool = False,
    bounds: Bounds | None = None,
    codec: StateCodec | None = None,
    observers: Sequence[Observer] = (),
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.time,
    flush_max_rows: int = FLUSH_MAX_ROWS,
    flush_interval_s: float = FLUSH_INTERVAL_S,
) -> Runtime:
    """A runtime over ``sinks``, ``latest`` and ``states``, checkpointing into ``registry``
    (at ``policy``'s cadence) when given; states it does not hold come from ``recover`` (the
    worker's table) and, with ``warm_start``, the registry's champions."""
    codec = codec or StateCodec.ephemeral()
    sources = StateSources(config, codec, recover=recover, registry=registry, warm_start=warm_start)
    cadence = (policy or CheckpointPolicy()).cadence if registry is not None else (0, 0, 0)
    pipeline = Pipeline(
        config,
        source,
        bounds=bounds,
        codec=codec,
        cadence=cadence,
        moves_aliases=moves_aliases,
        messages=any(getattr(sink, "reads_messages", False) for sink in sinks),
        initial=sources,
    )
    return Runtime(
        pipeline,
        list(sinks),
        latest=None if latest is None else LatestSink(latest),
        states=states,
        checkpoints=None if registry is None else RegistrySink(registry),
        sources=sources,
        observers=list(observers),
        backoff=backoff or Backoff(),
        clock=clock,
        flush_max_rows=flush_max_rows,
        flush_interval_s=flush_interval_s,
    )


def embedded(
    settings: Settings,
    config: CoreConfig,
    stores: Stores,
    *,
    source: str = "replay",
    move_aliases: bool = False,
    registry: BackgroundRegistry | None = None,
    sinks: Sequence[Sink[Any]] = (),
    codec: StateCodec | None = None,
) -> Runtime:
    """The runtime of ``replay`` and ``demo``: every sink of ``stores``, checkpoints into
    ``registry`` when given, signed by ``codec`` (by default the settings' key; a replay never
    warm-starts: it stays repeatable)."""
    outputs: list[Sink[Any]] = [
        ClickHouseSink(stores.clickhouse, settings.clickhouse_forecasts),
        *sinks,
    ]
    return runtime(
        config,
        outputs,
        latest=stores.latest,
        registry=registry,
        source=source,
        policy=checkpoint_policy(settings),
        moves_aliases=move_aliases,
        bounds=bounds_of(settings),
        codec=codec or (state_codec(settings) if registry is not None else None),
        observers=[PrometheusObserver(settings.metrics_symbols)],
        flush_max_rows=settings.flush_max_rows,
        flush_interval_s=settings.flush_interval_s,
    )


def registry_client(settings: Settings) -> Registry | None:
    """The registry's client for ``settings`` (in this process), if one is set."""
    if not settings.mlflow_uri:
        return None
    return Registry(
        settings.mlflow_uri,
        settings.mlflow_username,
        settings.mlflow_password.get_secret_value(),
        settings.registry_keep_versions,
    )


def registry_of(settings: Settings, *, watch: bool) -> BackgroundRegistry | None:
    """The registry's background process for ``settings`` (not started), if one is set."""
    if not settings.mlflow_uri:
        return None
    return BackgroundRegistry(
        settings.mlflow_uri,
        settings.registry_poll_s,
        watch=watch,
        username=settings.mlflow_username,
        password=settings.mlflow_password.get_secret_value(),
        keep=settings.registry_keep_versions,
        log_format=settings.log_format,
    )


def worker(
    settings: Settings,
    config: CoreConfig,
    *,
    table: Any,
    release: Callable[[Any], None] = lambda message: None,
    highwater: Callable[[Any], int | None] = lambda tp: None,
) -> WorkerShell:
    """The Faust worker's shell over the Faust ``table`` (its changelog holds the states)."""
    stores = open_stores(settings, setup=False)  # the shell's setup connects them
    kafka = KafkaOutputs(settings.kafka_auth, f"{settings.app_id}-outputs")
    registry = registry_of(settings, watch=True)
    partition_of: dict[str, int] = {}
    sinks: list[Sink[Any]] = [
        TopicSink(kafka, settings.forecasts_topic),
        DeadLetterSink(kafka, settings.dlq_topic),
        ClickHouseSink(stores.clickhouse, settings.clickhouse_forecasts),
    ]
    shell_runtime = runtime(
        config,
        sinks,
        latest=stores.latest,
        states=ChangelogSink(kafka, table, partition_of.__getitem__),
        registry=registry,
        policy=checkpoint_policy(settings),
        source=settings.ticks_topic,
        warm_start=True,
        recover=lambda symbol: table.get(symbol.encode()),
        moves_aliases=True,
        bounds=bounds_of(settings),
        codec=state_codec(settings),
        observers=[PrometheusObserver(settings.metrics_symbols)],
        flush_max_rows=settings.flush_max_rows,
        flush_interval_s=settings.flush_interval_s,
    )
    return WorkerShell(
        settings,
        shell_runtime,
        kafka=kafka,
        clickhouse=stores.clickhouse,
        latest=stores.latest,
        registry=registry,
        partition_of=partition_of,
        release=release,
        highwater=highwater,
    )


def faust_worker(settings: Settings, config: CoreConfig) -> tuple[faust.App, WorkerShell]:
    """``tickcast worker``'s Faust app and the shell it drives (:func:`worker`, over the app's
    table)."""
    from tickcast.stream_processors.faust_app import build_app

    def shell_of(
        table: Any, release: Callable[[Any], None], highwater: Callable[[Any], int | None]
    ) -> WorkerShell:
        return worker(settings, config, table=table, release=release, highwater=highwater)

    return build_app(settings, shell_of)
