"""Settings, read once from the environment (TICKCAST_*) into a frozen, typed object.

Everything inward takes plain arguments; only the edges (the ``tickcast`` commands) call
:func:`load_settings`, the same way for every command, the API included: flags over a models
file over the environment. Defaults are the embedded ones: no server needed.
"""

from __future__ import annotations

import difflib
import logging
import os
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickcast.contract import ConceptDetector, Reaction
from tickcast.exceptions import ConfigError

__all__ = ["PREFIX", "KafkaAuth", "Settings", "load_settings", "override", "redact"]

PREFIX = "TICKCAST_"
log = logging.getLogger(__name__)
Positive = Annotated[float, Field(gt=0)]
NotNegative = Annotated[float, Field(ge=0)]
AtLeastOne = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Port = Annotated[int, Field(ge=0, le=65535)]  # 0: none
NO_SECRET = SecretStr("")  # a secret's type masks it in every repr and dump


class Settings(BaseSettings):
    """Every variable is ``TICKCAST_`` + the upper-cased field name (see .env.example)."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, frozen=True, extra="ignore", allow_inf_nan=False
    )

    environment: Literal["local", "production"] = "local"  # production: secrets required
    clickhouse_url: str = "chdb://./data/olap"
    clickhouse_username: str = ""  # a server's user; its password apart from the address
    clickhouse_password: SecretStr = NO_SECRET
    clickhouse_ttl_days: Count = 0  # 0 keeps rows forever
    # served: the served forecast's row of each tick; all: every model's too
    clickhouse_forecasts: Literal["served", "all"] = "served"
    redis_url: str = ""  # empty: the in-process latest store
    redis_prefix: str = "tickcast:"  # of the latest store's keys and its publish channel
    redis_username: str = ""  # a Redis ACL user
    redis_password: SecretStr = NO_SECRET
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_username: str = ""  # SASL: set, and clients authenticate
    kafka_password: SecretStr = NO_SECRET
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    kafka_tls: bool = False  # SSL / SASL_SSL instead of PLAINTEXT / SASL_PLAINTEXT
    ticks_topic: str = "ticks"
    forecasts_topic: str = "forecasts"
    dlq_topic: str = "ticks.dlq"
    partitions: AtLeastOne = 4
    app_id: str = "tickcast"  # Faust app id = consumer group and changelog topic prefix
    state_dir: str = "./data/faust"
    session_timeout_s: Positive = 10.0  # how long a dead worker keeps its partitions
    api_host: str = "127.0.0.1"
    api_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # set: every route but /health wants "Authorization: Bearer <token>"
    api_token: SecretStr = NO_SECRET
    api_max_streams: AtLeastOne = 100  # Server-Sent Events clients at once
    api_stream_idle_s: Positive = 300.0  # a stream that sent nothing this long is closed
    horizon: AtLeastOne = 1
    interval_level: Annotated[float, Field(gt=0, lt=1)] = 0.9
    models: str = ""  # comma-separated model names; empty: the default set
    models_file: str = ""  # a TOML file of model specs and core settings (overrides models)
    mlflow_uri: str = "sqlite:///./data/mlflow.db"  # empty: no registry, no checkpoints
    mlflow_username: str = ""  # a server's basic-auth user
    mlflow_password: SecretStr = NO_SECRET
    # signs states (changelog, registry): every worker of an app needs the same one
    state_key: SecretStr = NO_SECRET
    state_keys_accepted: SecretStr = NO_SECRET  # comma-separated older keys, while rotating
    state_key_file: str = "./data/state.key"  # without a state key: made here once (0600)
    checkpoint_every_labels: Count = 5000  # learned ticks between checkpoints of a symbol
    checkpoint_every_s: NotNegative = 0.0  # event time between checkpoints; 0: off
    checkpoint_min_interval_s: NotNegative = 3600.0  # event time between two of a symbol's
    registry_poll_s: Positive = 5.0  # how often a worker looks for new versions
    registry_keep_versions: AtLeastOne = 20  # newest versions kept per symbol (+ aliased ones)
    drift_reaction: Reaction = "log"  # to concept drift
    drift_detector: ConceptDetector = "page_hinkley"  # of concept drift
    max_ahead_s: Positive = 300.0  # a tick this far ahead of the wall clock: dead letter
    max_behind_s: NotNegative = 0.0  # a tick this far behind the wall clock: dead letter; 0 off
    max_symbols: AtLeastOne = 10_000  # symbols one process serves; a new one past it: dead letter
    symbols_pattern: str = ""  # a regular expression every symbol must match whole; empty: any
    symbols_file: str = ""  # a file of allowed symbols, one a line; empty: any
    flush_interval_s: Positive = 0.5
    flush_max_rows: AtLeastOne = 20_000  # ticks per batch at most (bench/io_rates.py)
    latest_interval_s: NotNegative = 0.002  # new latest forecasts this soon; 0: at flush
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, events with fields
    metrics_symbols: Count = 100  # symbols with per-model gauges (bounded label sets)
    worker_metrics_port: Port = 9108  # the worker's /metrics; 0: none
    api_metrics_port: Port = 0  # the API's series on a port of their own too; 0: /metrics only
    producer_metrics_port: Port = 9109  # the producer's /metrics; 0: none

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("clickhouse_url", "redis_url")
    @classmethod
    def _no_password(cls, value: str, info: Any) -> str:
        """Credentials travel apart from addresses, which are printed: a URL with a password
        is refused, naming the setting that takes it."""
        parts = urlsplit(value)
        if parts.password is not None or "password" in parse_qs(parts.query):
            name = str(info.field_name).removesuffix("_url")
            raise ValueError(
                f"the address carries a password: set TICKCAST_{name.upper()}_USERNAME and "
                f"TICKCAST_{name.upper()}_PASSWORD instead (it would be printed with the address)"
            )
        return value

    @property
    def model_names(self) -> list[str]:
        return [n.strip() for n in self.models.split(",") if n.strip()]

    @property
    def kafka_auth(self) -> KafkaAuth:
        return KafkaAuth(
            self.kafka_bootstrap,
            self.kafka_username,
            self.kafka_password,
            self.kafka_sasl_mechanism,
            self.kafka_tls,
        )


class KafkaAuth(NamedTuple):
    """How to reach and log in to the brokers, in each client library's words."""

    bootstrap: str
    username: str = ""
    password: SecretStr = NO_SECRET
    mechanism: str = "SCRAM-SHA-512"
    tls: bool = False

    @property
    def protocol(self) -> str:
        """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
        return ("SASL_" if self.username else "") + ("SSL" if self.tls else "PLAINTEXT")

    def aiokafka(self) -> dict[str, Any]:
        """aiokafka's (and kafka-python's) connection arguments."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.protocol,
        }
        if self.username:
            options.update(
                sasl_mechanism=self.mechanism,
                sasl_plain_username=self.username,
                sasl_plain_password=self.password.get_secret_value(),
            )
        if self.tls:
            import ssl

            options["ssl_context"] = ssl.create_default_context()
        return options

    def librdkafka(self) -> dict[str, Any]:
        """confluent-kafka's (librdkafka's) configuration."""
        options: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": self.protocol,
        }
        if self.username:
            options.update(
                {
                    "sasl.mechanisms": self.mechanism,
                    "sasl.username": self.username,
                    "sasl.password": self.password.get_secret_value(),
                }
            )
        return options


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
    """The first problem of a validation error, in one line naming the variable (a secret's
    value is not repeated, nor a password in an address)."""
    error = exc.errors()[0]
    field = str(error["loc"][0])
    value = error["input"]
    if Settings.model_fields[field].annotation is SecretStr:
        shown = "***"
    else:
        shown = repr(redact(value) if isinstance(value, str) else value)
    return f"{PREFIX}{field.upper()}={shown}: {error['msg']}"


def redact(url: str) -> str:
    """``url`` with any password in it masked, for a log line or a message.

    >>> redact("postgresql://mlflow:s3cret@db:5432/mlflow")
    'postgresql://mlflow:***@db:5432/mlflow'
    >>> redact("chdb://./data/olap")
    'chdb://./data/olap'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
