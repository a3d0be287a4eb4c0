"""Settings, read once from the environment (TICKCAST_*) into a frozen object.

Everything inward takes plain arguments; only the edges (CLI, app factories) call
:func:`load_settings`. Defaults are the embedded ones: no server needed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from tickcast.exceptions import ConfigError

__all__ = ["Settings", "load_settings"]

PREFIX = "TICKCAST_"


@dataclass(frozen=True)
class Settings:
    """Every variable is ``TICKCAST_`` + the upper-cased field name (see .env.example)."""

    clickhouse_url: str = "chdb://./data/olap"
    clickhouse_ttl_days: int = 0  # 0 keeps rows forever
    clickhouse_forecasts: str = "served"  # served: the served forecast's rows; all: every model's
    redis_url: str = ""  # empty: the in-process latest store
    redis_prefix: str = "tickcast:"  # of the latest store's keys and its publish channel
    kafka_bootstrap: str = "127.0.0.1:9092"
    ticks_topic: str = "ticks"
    forecasts_topic: str = "forecasts"
    dlq_topic: str = "ticks.dlq"
    partitions: int = 4
    app_id: str = "tickcast"  # Faust app id = consumer group and changelog topic prefix
    state_dir: str = "./data/faust"
    session_timeout_s: float = 10.0  # how long a dead worker keeps its partitions
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    horizon: int = 1
    interval_level: float = 0.9
    models: str = ""  # comma-separated model names; empty: the default set
    models_file: str = ""  # a TOML file of model specs and core settings (overrides models)
    mlflow_uri: str = "sqlite:///./data/mlflow.db"  # empty: no registry, no checkpoints
    checkpoint_every_labels: int = 5000  # learned ticks between checkpoints of a symbol
    checkpoint_every_s: float = 0.0  # event time between checkpoints of a symbol; 0: off
    registry_poll_s: float = 5.0  # how often a worker looks for promoted/rolled-back versions
    drift_reaction: str = "log"  # to concept drift: log | reset | boost_lr
    drift_detector: str = "page_hinkley"  # of concept drift: page_hinkley | adwin
    max_ahead_s: float = 300.0  # a tick this far ahead of the wall clock is a dead letter
    flush_interval_s: float = 0.5
    # ticks per batch at most: each ClickHouse insert costs ~8 ms of part commit on ext4 before
    # its rows (measured); 20,000 ran a replay 1.8x faster than 5,000
    flush_max_rows: int = 20_000
    latest_interval_s: float = (
        0.002  # the worker writes new latest forecasts this soon; 0: at flush
    )
    log_level: str = "INFO"
    metrics_symbols: int = 100  # symbols with per-model quality gauges (bounded label sets)
    worker_metrics_port: int = 9108  # the worker's Prometheus endpoint; 0: none
    producer_metrics_port: int = 9109  # the producer's Prometheus endpoint; 0: none

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ConfigError(f"{PREFIX}PARTITIONS must be at least 1, got {self.partitions}")
        if self.flush_interval_s <= 0 or self.flush_max_rows < 1:
            raise ConfigError(
                f"{PREFIX}FLUSH_INTERVAL_S and {PREFIX}FLUSH_MAX_ROWS must be positive"
            )
        if self.latest_interval_s < 0:
            raise ConfigError(f"{PREFIX}LATEST_INTERVAL_S must not be negative")
        if self.checkpoint_every_labels < 0 or self.checkpoint_every_s < 0:
            raise ConfigError(f"{PREFIX}CHECKPOINT_EVERY_* must not be negative")
        if self.registry_poll_s <= 0:
            raise ConfigError(f"{PREFIX}REGISTRY_POLL_S must be positive")
        if not self.max_ahead_s > 0:
            raise ConfigError(f"{PREFIX}MAX_AHEAD_S must be positive, got {self.max_ahead_s}")
        if self.clickhouse_forecasts not in ("served", "all"):
            raise ConfigError(f"{PREFIX}CLICKHOUSE_FORECASTS must be served or all, "
                              f"got {self.clickhouse_forecasts!r}")  # fmt: skip
        if not 1 <= self.api_port <= 65535:
            raise ConfigError(f"{PREFIX}API_PORT must be a TCP port, got {self.api_port}")

    @property
    def model_names(self) -> list[str]:
        return [n.strip() for n in self.models.split(",") if n.strip()]


def _convert(name: str, raw: str, kind: Any) -> Any:
    try:
        if kind in (int, "int"):
            return int(raw)
        if kind in (float, "float"):
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
    except ValueError:
        raise ConfigError(
            f"{PREFIX}{name.upper()}={raw!r} is not a valid {getattr(kind, '__name__', kind)}"
        ) from None
    return raw


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from ``env`` (default: os.environ) and explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = PREFIX + f.name.upper()
        if key in env:
            values[f.name] = _convert(f.name, env[key], f.type)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
