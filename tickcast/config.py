"""Settings, read once from the environment (TICKCAST_*) into a frozen, typed object.

Everything inward takes plain arguments; only the edges (the ``tickcast`` commands) call
:func:`load_settings`, the same way for every command, the API included: flags over a models
file over the environment. Defaults are the embedded ones: no server needed.
"""

from __future__ import annotations

import difflib
import logging
import os
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickcast.exceptions import ConfigError
from tickcast.records import ConceptDetector, Reaction

__all__ = ["PREFIX", "Settings", "load_settings", "override"]

PREFIX = "TICKCAST_"
log = logging.getLogger(__name__)
Positive = Annotated[float, Field(gt=0)]
NotNegative = Annotated[float, Field(ge=0)]
AtLeastOne = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Port = Annotated[int, Field(ge=0, le=65535)]  # 0: none


class Settings(BaseSettings):
    """Every variable is ``TICKCAST_`` + the upper-cased field name (see .env.example)."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, frozen=True, extra="ignore", allow_inf_nan=False
    )

    clickhouse_url: str = "chdb://./data/olap"
    clickhouse_ttl_days: Count = 0  # 0 keeps rows forever
    # served: the served forecast's row of each tick; all: every model's too
    clickhouse_forecasts: Literal["served", "all"] = "served"
    redis_url: str = ""  # empty: the in-process latest store
    redis_prefix: str = "tickcast:"  # of the latest store's keys and its publish channel
    kafka_bootstrap: str = "127.0.0.1:9092"
    ticks_topic: str = "ticks"
    forecasts_topic: str = "forecasts"
    dlq_topic: str = "ticks.dlq"
    partitions: AtLeastOne = 4
    app_id: str = "tickcast"  # Faust app id = consumer group and changelog topic prefix
    state_dir: str = "./data/faust"
    session_timeout_s: Positive = 10.0  # how long a dead worker keeps its partitions
    api_host: str = "127.0.0.1"
    api_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    horizon: AtLeastOne = 1
    interval_level: Annotated[float, Field(gt=0, lt=1)] = 0.9
    models: str = ""  # comma-separated model names; empty: the default set
    models_file: str = ""  # a TOML file of model specs and core settings (overrides models)
    mlflow_uri: str = "sqlite:///./data/mlflow.db"  # empty: no registry, no checkpoints
    checkpoint_every_labels: Count = 5000  # learned ticks between checkpoints of a symbol
    checkpoint_every_s: NotNegative = 0.0  # event time between checkpoints; 0: off
    registry_poll_s: Positive = 5.0  # how often a worker looks for new versions
    drift_reaction: Reaction = "log"  # to concept drift
    drift_detector: ConceptDetector = "page_hinkley"  # of concept drift
    max_ahead_s: Positive = 300.0  # a tick this far ahead of the wall clock: dead letter
    flush_interval_s: Positive = 0.5
    flush_max_rows: AtLeastOne = 20_000  # ticks per batch at most (bench/io_rates.py)
    latest_interval_s: NotNegative = 0.002  # new latest forecasts this soon; 0: at flush
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_symbols: Count = 100  # symbols with per-model gauges (bounded label sets)
    worker_metrics_port: Port = 9108  # the worker's /metrics; 0: none
    producer_metrics_port: Port = 9109  # the producer's /metrics; 0: none

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def model_names(self) -> list[str]:
        return [n.strip() for n in self.models.split(",") if n.strip()]


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment with ``overrides`` (flags) over them; a ``TICKCAST_*``
    variable that is no setting is warned about with the nearest name (a typo would
    otherwise be ignored in silence), and a bad value is a ConfigError naming the variable."""
    known = [PREFIX + name.upper() for name in Settings.model_fields]
    for key in os.environ:
        if key.startswith(PREFIX) and key not in known and not key.startswith(PREFIX + "TEST_"):
            near = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            log.warning("%s is not a tickcast setting%s: ignored", key, hint)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(_reason(exc)) from None
    return override(settings, **overrides)


def override(settings: Settings, **flags: Any) -> Settings:
    """``settings`` with the flags that were given (not None) over them, validated again."""
    given = {name: value for name, value in flags.items() if value is not None}
    if not given:
        return settings
    try:
        return Settings.model_validate(settings.model_dump() | given)
    except ValidationError as exc:
        raise ConfigError(_reason(exc)) from None


def _reason(exc: ValidationError) -> str:
    """The first problem of a validation error, in one line naming the variable."""
    error = exc.errors()[0]
    name = PREFIX + str(error["loc"][0]).upper()
    return f"{name}={error['input']!r}: {error['msg']}"
