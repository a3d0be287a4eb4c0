"""The ``tickcast`` command: demo, backtest, replay, fetch, api.

Settings come from the environment (TICKCAST_*) once, here at the edge; flags override them.
Long runs show a progress bar on a terminal (on stderr, so ``--json`` output stays clean).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tickcast.config import Settings, load_settings
from tickcast.exceptions import ConfigError, TickcastError
from tickcast.online_model import SERVED, CoreConfig, resolve_models
from tickcast.online_model.drift import DriftConfig
from tickcast.online_model.spec import config_from_mapping

app = typer.Typer(
    help="Streaming stock price forecasts with online models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
log = logging.getLogger("tickcast")

SymbolOpt = Annotated[str | None, typer.Option(help="symbol for single-symbol (yfinance) files")]
HorizonOpt = Annotated[int | None, typer.Option(help="ticks ahead to forecast")]
ModelsOpt = Annotated[
    str | None, typer.Option(help="comma-separated models (default set when empty)")
]
LevelOpt = Annotated[float | None, typer.Option(help="nominal interval coverage")]
ModelsFileOpt = Annotated[
    Path | None, typer.Option(help="TOML file of model specs (see models.example.toml)")
]
OptionalFiles = Annotated[list[Path] | None, typer.Argument(help="tick files (CSV/Parquet)")]


def _finite_non_negative(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"{value} is not a finite number >= 0")
    return value


def _finite_positive(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value} is not a finite number > 0")
    return value


SpeedOpt = Annotated[
    float,
    typer.Option(help="0: as fast as possible, N: N x real time", callback=_finite_non_negative),
]
SyntheticOpt = Annotated[
    int, typer.Option(help="N synthetic ticks instead of files (with --live, 0: no end)", min=0)
]
SymbolsOpt = Annotated[int, typer.Option(help="symbols of the synthetic source", min=1)]
SeedOpt = Annotated[int, typer.Option(help="seed of the synthetic source")]
LiveOpt = Annotated[
    bool,
    typer.Option(help="synthetic ticks stamped with the wall clock as they are made, paced "
                 "at --rate (the compose stack's producer)"),
]  # fmt: skip
RegimeOpt = Annotated[
    int,
    typer.Option(help="synthetic: a planted regime (4x volatility, reversed autocorrelation) "
                 "switched on and off every N steps of a symbol; 0: none", min=0),
]  # fmt: skip
RateOpt = Annotated[
    float, typer.Option(help="ticks per second of --live", callback=_finite_positive)
]
MoveAliasesOpt = Annotated[
    bool,
    typer.Option(help="let this run's checkpoints move the registry's champion and challenger "
                 "aliases, which live workers follow (off: a replay never swaps their models)"),
]  # fmt: skip


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in ("kafka", "aiokafka", "faust", "mode"):  # their INFO is per connection
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def _core_config(
    settings: Settings,
    horizon: int | None,
    models: str | None,
    level: float | None,
    models_file: Path | None = None,
) -> CoreConfig:
    """Flags over the model file over the environment."""
    names = [m.strip() for m in models.split(",") if m.strip()] if models else settings.model_names
    base = CoreConfig(
        horizon=settings.horizon,
        level=settings.interval_level,
        models=resolve_models(names),
        drift=DriftConfig(reaction=settings.drift_reaction, detector=settings.drift_detector),
    )
    path = models_file or (Path(settings.models_file) if settings.models_file else None)
    if path is not None:
        base = config_from_mapping(_read_toml(path), base)
    return dataclasses.replace(
        base,
        horizon=base.horizon if horizon is None else horizon,
        level=base.level if level is None else level,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"model file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"model file {path} is not valid TOML: {exc}") from None


@contextlib.contextmanager
def _progress(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
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


def _source(
    files: list[Path] | None, symbol: str | None, synthetic: int = 0, symbols: int = 10,
    seed: int = 7, *, live: bool = False, rate: float = 20.0, regime_every: int = 0,
) -> Source:  # fmt: skip
    """Files (read up front), the synthetic generator (made as it goes: memory stays flat), its
    live variant, or the bundled sample."""
    from tickcast.producers import live_ticks, replay_records, sample_records, synthetic_ticks

    regimes = regime_every or None
    if live:
        ticks = live_ticks(symbols, rate=rate, n=synthetic, seed=seed, regime_every=regimes)
        return Source(ticks, synthetic or None, "synthetic-live")
    if synthetic:
        return Source(synthetic_ticks(synthetic, symbols, seed=seed, regime_every=regimes),
                      synthetic, "synthetic")  # fmt: skip
    if files:
        records = list(replay_records(files, symbol))
        return Source(records, len(records), ",".join(map(str, files)))
    records = list(sample_records())
    return Source(records, len(records), "sample")


def _fail(exc: Exception) -> NoReturn:
    err.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
    sys.exit(2)


@app.command()
def backtest(
    files: OptionalFiles = None,
    symbol: SymbolOpt = None,
    horizon: HorizonOpt = None,
    models: ModelsOpt = None,
    level: LevelOpt = None,
    models_file: ModelsFileOpt = None,
    sample: Annotated[bool, typer.Option(help="use the bundled SP500 sample")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report", help="write metrics.json, plots and index.html here"),
    ] = None,
) -> None:
    """Prequential metrics per symbol and model, from the same core as the live system."""
    from tickcast.backtest import run_backtest
    from tickcast.stream_processors import MemorySink

    settings = load_settings()
    _setup_logging(settings)
    if not files and not sample:
        raise TickcastError("give tick files, or --sample for the bundled sample")
    config = _core_config(settings, horizon, models, level, models_file)
    source = _source(files, symbol)
    memory = MemorySink() if report_dir else None
    with _progress("backtest", source.total) as advance:
        report = run_backtest(source.records, config, sinks=[memory] if memory else [],  # type: ignore[arg-type]
                              on_progress=advance)  # fmt: skip
    result = report.to_dict()
    if report_dir is not None and memory is not None:
        _write_report(settings, report_dir, report, memory, source.name)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    _print_report(result)


def _write_report(settings: Settings, out: Path, report: Any, memory: Any, source: str) -> None:
    """The report folder, then the same folder as an MLflow run (a failure there only warns)."""
    from tickcast.report import log_to_mlflow, write_report

    with err.status(f"plotting into {out}"):
        written = write_report(out, report, memory.ticks, memory.forecasts, memory.outcomes)
    err.print(f"report: {out / 'index.html'} ({len(written)} files)")
    if not settings.mlflow_uri:
        return
    params = {"source": source[:500], "horizon": str(report.config.horizon),
              "level": str(report.config.level),
              "models": ",".join(m.name for m in report.config.models)}  # fmt: skip
    try:
        result = json.loads((out / "metrics.json").read_text())  # the page's figures
        run_id = log_to_mlflow(settings.mlflow_uri, out, result, params)
    except Exception as exc:  # the report is on disk; MLflow is a copy
        err.print(f"[yellow]warning:[/yellow] not logged to MLflow {settings.mlflow_uri}: {exc}")
        return
    err.print(f"logged to MLflow {settings.mlflow_uri} as run {run_id}", soft_wrap=True)


def _print_report(result: dict[str, Any]) -> None:
    from tickcast.report import TABLE_COLUMNS, column_title

    console = Console() if sys.stdout.isatty() else Console(width=220)
    columns = TABLE_COLUMNS
    table = Table(
        title=f"pooled over {len(result['symbols'])} symbol(s), horizon {result['horizon']}"
    )
    table.add_column("model")
    for column in columns:
        table.add_column(column_title(column), justify="right")
    for model, metrics in result["pooled"].items():
        cells = [_fmt(metrics.get(c)) for c in columns]
        table.add_row(f"[bold]{model}[/bold]" if model == SERVED else model, *cells)
    console.print(table)
    counts = result["counts"]
    console.print(
        f"ticks ok {counts.get('ok', 0)}, invalid {counts.get('invalid', 0)}, "
        f"duplicate {counts.get('duplicate', 0)}, late {counts.get('late', 0)}"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _open_stores(settings: Settings) -> Any:
    from tickcast import bootstrap

    return bootstrap.open_stores(settings)


async def _run_pipeline(
    settings: Settings, config: CoreConfig, source: Source, stores: Any,
    label: str, speed: float = 0.0, move_aliases: bool = False,
) -> dict[str, int]:  # fmt: skip
    from tickcast import bootstrap
    from tickcast.producers import paced
    from tickcast.stream_processors import run_embedded

    registry = bootstrap.registry_of(settings, watch=False)  # checkpoints, never warm starts
    if registry is not None:
        registry.start()
    runtime = bootstrap.embedded(settings, config, stores, source=label,
                                 move_aliases=move_aliases, registry=registry)  # fmt: skip
    records = source.records
    if speed and not isinstance(records, AsyncIterator):
        records = paced(records, speed)
    with _progress(label, source.total) as advance:
        await run_embedded(
            records,
            runtime,
            flush_interval_s=settings.flush_interval_s,
            flush_max_rows=settings.flush_max_rows,
            on_progress=advance,
        )
    if registry is not None:
        with err.status(f"writing {registry.pending} checkpoint(s) to {settings.mlflow_uri}"):
            await asyncio.get_running_loop().run_in_executor(None, registry.close)
    return dict(runtime.pipeline.counts)


def _serve_metrics(settings: Settings, port: int) -> str:
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


def _announce(command: str, settings: Settings, **extra: Any) -> None:
    latest = settings.redis_url or "in-process"
    mlflow = settings.mlflow_uri or "off"
    details = " ".join(f"{k}={v}" for k, v in extra.items())
    log.info(
        "tickcast %s: clickhouse=%s latest=%s mlflow=%s %s",
        command,
        settings.clickhouse_url,
        latest,
        mlflow,
        details,
    )


@app.command()
def replay(
    files: OptionalFiles = None,
    symbol: SymbolOpt = None,
    speed: SpeedOpt = 0.0,
    synthetic: SyntheticOpt = 0,
    symbols: SymbolsOpt = 10,
    seed: SeedOpt = 7,
    horizon: HorizonOpt = None,
    models: ModelsOpt = None,
    models_file: ModelsFileOpt = None,
    live: LiveOpt = False,
    rate: RateOpt = 20.0,
    regime_every: RegimeOpt = 0,
    move_aliases: MoveAliasesOpt = False,
) -> None:
    """Run ticks through the embedded pipeline into ClickHouse and the latest store."""
    import time

    settings = load_settings()
    _setup_logging(settings)
    config = _core_config(settings, horizon, models, None, models_file)
    source = _source(files, symbol, synthetic, symbols, seed, live=live, rate=rate,
                     regime_every=regime_every)  # fmt: skip
    stores = _open_stores(settings)
    _announce("replay", settings, source=source.name, ticks=source.total, speed=speed)
    start = time.perf_counter()
    counts = asyncio.run(
        _run_pipeline(settings, config, source, stores, "replay", speed, move_aliases)
    )
    elapsed = time.perf_counter() - start
    ticks = sum(counts.values())
    rate = ticks / elapsed if elapsed > 0 else 0.0
    typer.echo(json.dumps({"ticks": ticks, "seconds": round(elapsed, 3),
                           "ticks_per_s": round(rate), "counts": counts}))  # fmt: skip


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="serve the API and live page meanwhile")] = True,
    host: Annotated[str | None, typer.Option(help="API address")] = None,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    speed: SpeedOpt = 0.0,
    move_aliases: MoveAliasesOpt = False,
) -> None:
    """Replay the bundled sample through the embedded pipeline while serving the API and the
    live page (open http://127.0.0.1:8000/); --speed 2000000 replays it over about a minute."""
    settings = load_settings()
    _setup_logging(settings)
    config = _core_config(settings, None, None, None)
    stores = _open_stores(settings)
    source = _source(None, None)
    host = host or settings.api_host
    port = port or settings.api_port
    _announce("demo", settings, source="sp500-sample", ticks=source.total,
              api=f"http://{host}:{port}" if serve else "off")  # fmt: skip
    asyncio.run(_demo(settings, config, source, stores, serve, host, port, speed, move_aliases))


async def _demo(
    settings: Settings, config: CoreConfig, source: Source, stores: Any,
    serve: bool, host: str, port: int, speed: float, move_aliases: bool,
) -> None:  # fmt: skip
    latest = stores.latest
    replay = asyncio.create_task(
        _run_pipeline(settings, config, source, stores, "demo", speed, move_aliases)
    )
    if not serve:
        _replayed(await replay, latest)
        return
    server = asyncio.create_task(_serve(settings, stores.clickhouse, latest, host, port))
    err.print(f"serving on http://{host}:{port}  (open it in a browser, or try "
              f"/forecasts/AAPL; Ctrl-C stops)")  # fmt: skip
    done, _ = await asyncio.wait({replay, server}, return_when=asyncio.FIRST_COMPLETED)
    if replay in done:
        _replayed(replay.result(), latest)
        await server
    else:  # stopped during the replay
        replay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await replay


def _replayed(counts: dict[str, int], latest: Any) -> None:
    symbols = latest.symbols()
    err.print(f"replayed {sum(counts.values())} ticks ({counts}); forecasts for {len(symbols)} "
              f"symbols: {', '.join(symbols)}")  # fmt: skip


async def _serve(settings: Settings, store: Any, latest: Any, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and close the stores."""
    import signal

    import uvicorn

    from tickcast.api import Services, create_app

    services = Services(latest=latest, clickhouse=store)
    server = _QuietServer(
        uvicorn.Config(
            create_app(services),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=2,  # live streams never end by themselves
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.request_exit)
    try:
        await server.serve()
    finally:
        store.close()
    err.print("stopped")


class _QuietServer:
    """uvicorn's server without its own signal capture (which re-raises after shutdown)."""

    def __init__(self, config: Any) -> None:
        import uvicorn

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        self.server = Server(config)

    def request_exit(self) -> None:
        self.server.should_exit = True

    async def serve(self) -> None:
        await self.server.serve()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="address to bind")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve the REST API over the configured stores (Redis and ClickHouse in production)."""
    from tickcast.stores import ClickHouseStore, open_latest_store

    settings = load_settings()
    _setup_logging(settings)
    host = host or settings.api_host
    port = port or settings.api_port
    store = ClickHouseStore(settings.clickhouse_url, settings.clickhouse_ttl_days)
    latest = open_latest_store(settings.redis_url, settings.redis_prefix)
    _announce("api", settings, api=f"http://{host}:{port}")
    asyncio.run(_serve(settings, store, latest, host, port))


@app.command()
def produce(
    files: OptionalFiles = None,
    symbol: SymbolOpt = None,
    speed: SpeedOpt = 0.0,
    synthetic: SyntheticOpt = 0,
    symbols: SymbolsOpt = 10,
    seed: SeedOpt = 7,
    live: LiveOpt = False,
    rate: RateOpt = 20.0,
    regime_every: RegimeOpt = 0,
    sample: Annotated[bool, typer.Option(help="publish the bundled SP500 sample")] = False,
    yfinance: Annotated[
        str | None, typer.Option(help="poll 1-minute bars of these symbols (comma-separated)")
    ] = None,
    poll_s: Annotated[
        float, typer.Option(help="seconds between yfinance polls", callback=_finite_positive)
    ] = 60.0,
) -> None:
    """Publish ticks to Kafka: replayed files, the sample, synthetic load (--live: stamped with
    the wall clock, paced, until stopped), or live yfinance bars."""
    import time

    from tickcast.producers.kafka_publisher import TickPublisher, ensure_topics

    settings = load_settings()
    _setup_logging(settings)
    if not (files or synthetic or sample or live or yfinance):
        raise TickcastError(
            "give tick files, --synthetic N, --live, --sample or --yfinance SYMBOLS"
        )
    source = None if yfinance else _source(files, symbol, synthetic, symbols, seed, live=live,
                                            rate=rate, regime_every=regime_every)  # fmt: skip
    try:
        ensure_topics(
            settings.kafka_bootstrap,
            {settings.ticks_topic: settings.partitions, settings.dlq_topic: 1},
        )
        publisher = TickPublisher(
            settings.kafka_bootstrap, settings.ticks_topic, settings.dlq_topic
        )
    except Exception as exc:  # the broker is down or refuses: one line, not a traceback
        raise TickcastError(f"Kafka at {settings.kafka_bootstrap}: {exc}") from None
    metrics = _serve_metrics(settings, settings.producer_metrics_port)
    if source is None:
        _produce_live(settings, publisher, (yfinance or "").split(","), poll_s, metrics)
        return
    log.info("tickcast produce: kafka=%s topic=%s dlq=%s source=%s ticks=%s speed=%s rate=%s "
             "metrics=%s", settings.kafka_bootstrap, settings.ticks_topic, settings.dlq_topic,
             source.name, source.total or "unbounded", speed, rate if live else "-",
             metrics)  # fmt: skip
    start = time.perf_counter()
    with _progress("produce", source.total) as advance:
        counts = asyncio.run(_publish(publisher, source, speed, advance))
    elapsed = time.perf_counter() - start
    publisher.close()
    ticks = sum(counts.values())
    typer.echo(json.dumps({"ticks": ticks, "seconds": round(elapsed, 3),
                           "ticks_per_s": round(ticks / elapsed) if elapsed else 0,
                           "counts": dict(counts)}))  # fmt: skip


async def _publish(
    publisher: Any, source: Source, speed: float, advance: Callable[[int], None]
) -> Any:
    """Publish every record (paced when asked, or as the live source makes them) until the
    source ends or SIGINT/SIGTERM; returns the publisher's counts."""
    import signal

    from tickcast.producers import paced

    records = source.records
    if not isinstance(records, AsyncIterator):
        if not speed:
            return publisher.publish_all(records, on_progress=advance)
        records = paced(records, speed)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
    with contextlib.suppress(asyncio.CancelledError):
        async for record in records:
            publisher.publish(record)
            advance(1)
    publisher.flush()
    return publisher.counts


def _produce_live(
    settings: Settings, publisher: Any, symbols: list[str], poll_s: float, metrics: str
) -> None:
    import time

    from tickcast.producers.yfinance_source import poll_new_bars

    log.info("tickcast produce: kafka=%s topic=%s yfinance=%s every %ss metrics=%s",
             settings.kafka_bootstrap, settings.ticks_topic, ",".join(symbols), poll_s,
             metrics)  # fmt: skip
    last_seen: dict[str, int] = {}
    try:
        while True:
            bars = poll_new_bars(symbols, last_seen)
            for bar in bars:
                publisher.publish(bar)
            publisher.flush()
            log.info("published %d new bars", len(bars))
            time.sleep(poll_s)
    except KeyboardInterrupt:
        publisher.close()


@app.command()
def worker(
    horizon: HorizonOpt = None, models: ModelsOpt = None, models_file: ModelsFileOpt = None
) -> None:
    """Run a Faust worker: consume ticks, forecast, write Kafka, ClickHouse and Redis."""
    from faust import Worker

    from tickcast.producers.kafka_publisher import ensure_topics
    from tickcast.stream_processors.faust_app import STATE_TABLE, build_app

    settings = load_settings()
    _setup_logging(settings)
    config = _core_config(settings, horizon, models, None, models_file)
    try:
        ensure_topics(settings.kafka_bootstrap, {
            settings.ticks_topic: settings.partitions,
            settings.forecasts_topic: settings.partitions,
            settings.dlq_topic: 1,
        })  # fmt: skip
        faust_app, shell = build_app(settings, config)
        shell.setup()
    except TickcastError:
        raise
    except Exception as exc:  # broker unreachable and the like: one line, not a traceback
        raise TickcastError(f"cannot start the worker: {exc}") from None
    changelog = f"{settings.app_id}-{STATE_TABLE}-changelog"
    metrics = _serve_metrics(settings, settings.worker_metrics_port)
    _announce("worker", settings, kafka=settings.kafka_bootstrap, app_id=settings.app_id,
              ticks=settings.ticks_topic, forecasts=settings.forecasts_topic,
              dlq=settings.dlq_topic, state=changelog, metrics=metrics)  # fmt: skip
    Worker(faust_app, loglevel=settings.log_level.lower(), quiet=True).execute_from_commandline()


@app.command()
def fetch(
    symbols: Annotated[list[str], typer.Argument(help="e.g. AAPL MSFT ^GSPC")],
    out: Annotated[Path, typer.Option(help="Parquet file to write")] = Path("data/history.parquet"),
    period: Annotated[str, typer.Option(help="yfinance period, e.g. 1y, 5d, max")] = "1y",
    interval: Annotated[str, typer.Option(help="yfinance interval, e.g. 1d, 1m")] = "1d",
) -> None:
    """Download price history with yfinance into a long-format Parquet file (needs internet)."""
    from tickcast.producers.yfinance_source import fetch_history

    frame = fetch_history(symbols, out, period=period, interval=interval)
    err.print(f"wrote {len(frame)} rows for {', '.join(symbols)} to {out}")


models_app = typer.Typer(help="Checkpointed model versions in the MLflow registry.")
app.add_typer(models_app, name="models")
SymbolArg = Annotated[str, typer.Argument(help="the symbol, e.g. AAPL")]


def _registry(settings: Settings) -> Any:
    from tickcast.stores.registry import Registry

    if not settings.mlflow_uri:
        raise ConfigError("TICKCAST_MLFLOW_URI is empty: no registry")
    return Registry(settings.mlflow_uri)


@models_app.command("list")
def models_list() -> None:
    """Every symbol in the registry with its champion and challenger."""
    settings = load_settings()
    _setup_logging(settings)
    registry = _registry(settings)
    rows = [(s, registry.versions(s), registry.pinned(s)) for s in registry.symbols()]
    table = Table(title=f"registry {settings.mlflow_uri}")
    for column in ("symbol", "versions", "champion", "serves", "challenger", "event time"):
        table.add_column(column)
    for symbol, versions, pinned in rows:
        champion = next((v for v in versions if "champion" in v.aliases), None)
        challenger = next((v for v in versions if "challenger" in v.aliases), None)
        table.add_row(
            symbol, str(len(versions)),
            (f"v{champion.version}" + (" (pinned)" if pinned else "")) if champion else "-",
            champion.champion_model if champion else "-",
            f"v{challenger.version}" if challenger else "-",
            _iso(champion.ts) if champion else "-",
        )  # fmt: skip
    Console().print(table)


@models_app.command("show")
def models_show(symbol: SymbolArg) -> None:
    """Every version of one symbol, newest first."""
    settings = load_settings()
    _setup_logging(settings)
    versions = _registry(settings).versions(symbol)
    table = Table(title=f"{symbol} in {settings.mlflow_uri}")
    for column in ("version", "aliases", "origin", "event time", "labels", "serves", "runner-up",
                   "served MAE / rw"):  # fmt: skip
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version), ",".join(v.aliases), v.origin, _iso(v.ts), str(v.n_labels),
            v.champion_model, v.challenger_model, _fmt(v.served_mae_ratio),
        )  # fmt: skip
    Console().print(table)


@models_app.command("promote")
def models_promote(
    symbol: SymbolArg, version: Annotated[int, typer.Argument(help="version to serve")]
) -> None:
    """Point the champion alias at VERSION and pin it there (checkpoints leave a pinned
    champion alone until `models unpin`); running workers adopt it."""
    settings = load_settings()
    _setup_logging(settings)
    try:
        before = _registry(settings).promote(symbol, version)
    except TickcastError:
        raise
    except Exception as exc:  # MLflow's own errors (no such version) in one line
        raise TickcastError(f"cannot promote {symbol} v{version}: {exc}") from None
    err.print(f"{symbol}: champion v{before} -> v{version} (pinned)")


@models_app.command("rollback")
def models_rollback(symbol: SymbolArg) -> None:
    """Move the champion alias to the version before it and pin it; running workers adopt it."""
    settings = load_settings()
    _setup_logging(settings)
    before, after = _registry(settings).rollback(symbol)
    err.print(f"{symbol}: champion v{before} -> v{after} (pinned)")


@models_app.command("unpin")
def models_unpin(symbol: SymbolArg) -> None:
    """Let measured evidence move the champion alias again (after a promote or rollback)."""
    settings = load_settings()
    _setup_logging(settings)
    if _registry(settings).unpin(symbol):
        err.print(f"{symbol}: champion unpinned; checkpoints with evidence move it again")
    else:
        err.print(f"{symbol}: the champion was not pinned")


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def main() -> None:
    """The command, with every deliberate error (a bad setting, file, flag combination or an
    unreachable store) as one line on stderr and exit status 2, never a traceback."""
    try:
        app()
    except TickcastError as exc:
        _fail(exc)


if __name__ == "__main__":
    main()
