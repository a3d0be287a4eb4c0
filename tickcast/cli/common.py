"""What the commands share: the core's configuration, the tick source, progress, the startup
line and the metrics endpoint."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tickcast.cli.app import err
from tickcast.cli.options import ModelOptions, SourceOptions
from tickcast.config import Settings, redact
from tickcast.events import emit
from tickcast.exceptions import ConfigError
from tickcast.online_model import CoreConfig, resolve_models
from tickcast.online_model.core_config import config_from_mapping
from tickcast.online_model.drift import DriftConfig

log = logging.getLogger("tickcast")


def core_config(settings: Settings, flags: ModelOptions | None = None) -> CoreConfig:
    """The core's configuration: flags over the models file over the environment."""
    flags = flags or ModelOptions()
    models, models_file, horizon, level = (
        flags.models,
        flags.models_file,
        flags.horizon,
        flags.level,
    )
    names = [m.strip() for m in models.split(",") if m.strip()] if models else settings.model_names
    base = CoreConfig(
        horizon=settings.horizon,
        level=settings.interval_level,
        models=resolve_models(names),
        drift=DriftConfig(reaction=settings.drift_reaction, detector=settings.drift_detector),
    )
    path = models_file or (Path(settings.models_file) if settings.models_file else None)
    if path is not None:
        base = config_from_mapping(read_toml(path), base)
    return dataclasses.replace(
        base,
        horizon=base.horizon if horizon is None else horizon,
        level=base.level if level is None else level,
    )


def read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"model file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"model file {path} is not valid TOML: {exc}") from None


@contextlib.contextmanager
def progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; a silent counter otherwise."""
    if not err.is_terminal:
        yield lambda n: None
        return
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@dataclasses.dataclass
class Source:
    """Raw tick records to run, and how many there are (None: unknown, or no end)."""

    records: Iterable[Any] | AsyncIterator[Any]
    total: int | None
    name: str


def open_source(options: SourceOptions) -> Source:
    """Files (read up front), the synthetic generator (made as it goes: memory stays flat), its
    live variant, or the bundled sample."""
    from tickcast.producers import live_ticks, replay_records, sample_records, synthetic_ticks

    o = options
    regimes = o.regime_every or None
    if o.live:
        live = live_ticks(o.symbols, rate=o.rate, n=o.synthetic, seed=o.seed, regime_every=regimes)
        return Source(live, o.synthetic or None, "synthetic-live")
    if o.synthetic:
        ticks = synthetic_ticks(o.synthetic, o.symbols, seed=o.seed, regime_every=regimes)
        return Source(ticks, o.synthetic, "synthetic")
    if o.files:
        records = list(replay_records(o.files, o.symbol))
        return Source(records, len(records), ",".join(map(str, o.files)))
    records = list(sample_records())
    return Source(records, len(records), "sample")


def announce(command: str, settings: Settings, **details: Any) -> None:
    """The process's one startup line: what it reads and writes, where and as whom (users,
    never passwords: an address carrying one is masked)."""
    uses: dict[str, Any] = {
        "clickhouse": _as(settings.clickhouse_username, settings.clickhouse_url),
        "latest": _as(settings.redis_username, settings.redis_url) or "in-process",
        "mlflow": _as(settings.mlflow_username, redact(settings.mlflow_uri)) or "off",
        **{k: str(v) for k, v in details.items()},
    }
    line = " ".join(f"{k}={v}" for k, v in uses.items())
    emit(log, "started", "tickcast %s: %s", command, line, command=command, **uses)


def kafka_address(settings: Settings) -> str:
    """The brokers as the startup line shows them: protocol, user, addresses."""
    auth = settings.kafka_auth
    user = f"{auth.username}@" if auth.username else ""
    return f"{auth.protocol.lower()}://{user}{auth.bootstrap}"


def _as(user: str, address: str) -> str:
    return f"{user}@{address}" if user and address else address


def serve_metrics(settings: Settings, port: int) -> str:
    """This process's Prometheus endpoint on its own port (0: none); returns its address."""
    if not port:
        return "off"
    from prometheus_client import start_http_server

    try:
        start_http_server(port, addr=settings.api_host)
    except OSError as exc:  # e.g. a second worker on this host: it runs, unobserved
        log.warning("no metrics endpoint: %s:%d %s", settings.api_host, port, exc.strerror)
        return "off"
    return f"http://{settings.api_host}:{port}/metrics"


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
