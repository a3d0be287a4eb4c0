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
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

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
SpeedOpt = Annotated[float, typer.Option(help="0: as fast as possible, N: N x real time")]
SyntheticOpt = Annotated[int, typer.Option(help="N synthetic ticks instead of files")]
SymbolsOpt = Annotated[int, typer.Option(help="symbols of the synthetic source")]
SeedOpt = Annotated[int, typer.Option(help="seed of the synthetic source")]


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
    return dataclasses.replace(base, horizon=horizon or base.horizon, level=level or base.level)


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


def _records(
    files: list[Path] | None, symbol: str | None, synthetic: int, symbols: int, seed: int
) -> list[Any]:
    from tickcast.producers import replay_records, sample_records, synthetic_ticks

    if synthetic:
        return list(synthetic_ticks(synthetic, symbols, seed=seed))
    if files:
        return list(replay_records(files, symbol))
    return list(sample_records())


def _fail(exc: Exception) -> None:
    err.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


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
        _fail(TickcastError("give tick files, or --sample for the bundled sample"))
    try:
        config = _core_config(settings, horizon, models, level, models_file)
        records = _records(files, symbol, 0, 0, 0)
        memory = MemorySink() if report_dir else None
        with _progress("backtest", len(records)) as advance:
            report = run_backtest(records, config, sinks=[memory] if memory else [],
                                  on_progress=advance)  # fmt: skip
    except TickcastError as exc:
        _fail(exc)
    result = report.to_dict()
    if report_dir is not None and memory is not None:
        source = "sample" if sample else ",".join(str(f) for f in files or [])
        _write_report(settings, report_dir, report, memory, source)
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
        run_id = log_to_mlflow(settings.mlflow_uri, out, report.to_dict(), params)
    except Exception as exc:  # the report is on disk; MLflow is a copy
        err.print(f"[yellow]warning:[/yellow] not logged to MLflow {settings.mlflow_uri}: {exc}")
        return
    err.print(f"logged to MLflow {settings.mlflow_uri} as run {run_id}", soft_wrap=True)


def _print_report(result: dict[str, Any]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)
    columns = ["n", "mae", "rmse", "r2_oos", "mae_ratio_vs_random_walk", "hit_rate", "coverage",
               "interval_score", "bias"]  # fmt: skip
    table = Table(
        title=f"pooled over {len(result['symbols'])} symbol(s), horizon {result['horizon']}"
    )
    table.add_column("model")
    for column in columns:
        table.add_column(column.replace("mae_ratio_vs_random_walk", "mae/rw"), justify="right")
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


def _open_stores(settings: Settings) -> tuple[Any, Any]:
    from tickcast.stores import ClickHouseStore, open_latest_store

    store = ClickHouseStore(settings.clickhouse_url, settings.clickhouse_ttl_days)
    store.setup()
    return store, open_latest_store(settings.redis_url)


async def _run_pipeline(
    settings: Settings, config: CoreConfig, records: Iterable[Any], store: Any, latest: Any,
    label: str, speed: float = 0.0,
) -> dict[str, int]:  # fmt: skip
    from tickcast.producers import paced
    from tickcast.stores.registry import BackgroundRegistry
    from tickcast.stream_processors import (
        ClickHouseSink,
        LatestSink,
        Pipeline,
        PrometheusSink,
        run_embedded,
    )
    from tickcast.stream_processors.pipeline import checkpoint_policy
    from tickcast.stream_processors.sinks import Sink

    registry = None
    if settings.mlflow_uri:  # a replay checkpoints but does not warm-start: it stays repeatable
        registry = BackgroundRegistry(settings.mlflow_uri, watch=False).start()
    sinks: list[Sink] = [ClickHouseSink(store), LatestSink(latest),
                         PrometheusSink(settings.metrics_symbols)]  # fmt: skip
    pipeline = Pipeline(config, sinks, source=label, registry=registry,
                        policy=checkpoint_policy(settings))  # fmt: skip
    records = list(records)
    with _progress(label, len(records)) as advance:
        await run_embedded(
            paced(records, speed) if speed else records,
            pipeline,
            flush_interval_s=settings.flush_interval_s,
            flush_max_rows=settings.flush_max_rows,
            on_progress=advance,
        )
    if registry is not None:
        with err.status(f"writing {registry.pending} checkpoint(s) to {settings.mlflow_uri}"):
            await asyncio.get_running_loop().run_in_executor(None, registry.close)
    return dict(pipeline.counts)


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
) -> None:
    """Run ticks through the embedded pipeline into ClickHouse and the latest store."""
    import time

    settings = load_settings()
    _setup_logging(settings)
    try:
        config = _core_config(settings, horizon, models, None, models_file)
        records = _records(files, symbol, synthetic, symbols, seed)
        store, latest = _open_stores(settings)
        source = "synthetic" if synthetic else ",".join(map(str, files)) if files else "sample"
        _announce("replay", settings, source=source, ticks=len(records), speed=speed)
        start = time.perf_counter()
        counts = asyncio.run(
            _run_pipeline(settings, config, records, store, latest, "replay", speed)
        )
        elapsed = time.perf_counter() - start
    except TickcastError as exc:
        _fail(exc)
    rate = len(records) / elapsed if elapsed > 0 else 0.0
    typer.echo(json.dumps({"ticks": len(records), "seconds": round(elapsed, 3),
                           "ticks_per_s": round(rate), "counts": counts}))  # fmt: skip


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="serve the API and live page meanwhile")] = True,
    host: Annotated[str | None, typer.Option(help="API address")] = None,
    port: Annotated[int | None, typer.Option(help="API port")] = None,
    speed: SpeedOpt = 0.0,
) -> None:
    """Replay the bundled sample through the embedded pipeline while serving the API and the
    live page (open http://127.0.0.1:8000/); --speed 2000000 replays it over about a minute."""
    settings = load_settings()
    _setup_logging(settings)
    try:
        config = _core_config(settings, None, None, None)
        store, latest = _open_stores(settings)
        records = _records(None, None, 0, 0, 0)
    except TickcastError as exc:
        _fail(exc)
    host = host or settings.api_host
    port = port or settings.api_port
    _announce("demo", settings, source="sp500-sample", ticks=len(records),
              api=f"http://{host}:{port}" if serve else "off")  # fmt: skip
    asyncio.run(_demo(settings, config, records, store, latest, serve, host, port, speed))


async def _demo(
    settings: Settings, config: CoreConfig, records: list[Any], store: Any, latest: Any,
    serve: bool, host: str, port: int, speed: float,
) -> None:  # fmt: skip
    replay = asyncio.create_task(
        _run_pipeline(settings, config, records, store, latest, "demo", speed)
    )
    if not serve:
        _replayed(await replay, latest)
        return
    server = asyncio.create_task(_serve(settings, store, latest, host, port))
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

    services = Services(latest=latest, clickhouse=store, interval_level=settings.interval_level)
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
    latest = open_latest_store(settings.redis_url)
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
    sample: Annotated[bool, typer.Option(help="publish the bundled SP500 sample")] = False,
    yfinance: Annotated[
        str | None, typer.Option(help="poll 1-minute bars of these symbols (comma-separated)")
    ] = None,
    poll_s: Annotated[float, typer.Option(help="seconds between yfinance polls")] = 60.0,
) -> None:
    """Publish ticks to Kafka: replayed files, the sample, synthetic load, or live yfinance bars."""
    import time

    from tickcast.producers.kafka_publisher import TickPublisher, ensure_topics

    settings = load_settings()
    _setup_logging(settings)
    try:
        ensure_topics(
            settings.kafka_bootstrap,
            {settings.ticks_topic: settings.partitions, settings.dlq_topic: 1},
        )
        publisher = TickPublisher(
            settings.kafka_bootstrap, settings.ticks_topic, settings.dlq_topic
        )
    except Exception as exc:  # the broker is down or refuses: one line, not a traceback
        _fail(TickcastError(f"Kafka at {settings.kafka_bootstrap}: {exc}"))
    metrics = _serve_metrics(settings, settings.producer_metrics_port)
    if yfinance:
        _produce_live(settings, publisher, yfinance.split(","), poll_s, metrics)
        return
    if not (files or synthetic or sample):
        _fail(TickcastError("give tick files, --synthetic N, --sample or --yfinance SYMBOLS"))
    try:
        records = _records(files, symbol, synthetic, symbols, seed)
    except TickcastError as exc:
        _fail(exc)
    log.info("tickcast produce: kafka=%s topic=%s dlq=%s ticks=%d speed=%s metrics=%s",
             settings.kafka_bootstrap, settings.ticks_topic, settings.dlq_topic, len(records),
             speed, metrics)  # fmt: skip
    start = time.perf_counter()
    with _progress("produce", len(records)) as advance:
        counts = asyncio.run(_publish_paced(publisher, records, speed, advance))
    elapsed = time.perf_counter() - start
    publisher.close()
    typer.echo(json.dumps({"ticks": len(records), "seconds": round(elapsed, 3),
                           "ticks_per_s": round(len(records) / elapsed) if elapsed else 0,
                           "counts": dict(counts)}))  # fmt: skip


async def _publish_paced(
    publisher: Any, records: list[Any], speed: float, advance: Callable[[int], None]
) -> Any:
    from tickcast.producers import paced

    if not speed:
        return publisher.publish_all(records, on_progress=advance)
    async for record in paced(records, speed):
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
    try:
        config = _core_config(settings, horizon, models, None, models_file)
        ensure_topics(settings.kafka_bootstrap, {
            settings.ticks_topic: settings.partitions,
            settings.forecasts_topic: settings.partitions,
            settings.dlq_topic: 1,
        })  # fmt: skip
        faust_app, shell = build_app(settings, config)
        shell.setup()
    except TickcastError as exc:
        _fail(exc)
    except Exception as exc:  # broker unreachable and the like: one line, not a traceback
        _fail(TickcastError(f"cannot start the worker: {exc}"))
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

    try:
        frame = fetch_history(symbols, out, period=period, interval=interval)
    except TickcastError as exc:
        _fail(exc)
    err.print(f"wrote {len(frame)} rows for {', '.join(symbols)} to {out}")


models_app = typer.Typer(help="Checkpointed model versions in the MLflow registry.")
app.add_typer(models_app, name="models")
SymbolArg = Annotated[str, typer.Argument(help="the symbol, e.g. AAPL")]


def _registry(settings: Settings) -> Any:
    from tickcast.stores.registry import Registry

    if not settings.mlflow_uri:
        _fail(ConfigError("TICKCAST_MLFLOW_URI is empty: no registry"))
    return Registry(settings.mlflow_uri)


@models_app.command("list")
def models_list() -> None:
    """Every symbol in the registry with its champion and challenger."""
    settings = load_settings()
    _setup_logging(settings)
    try:
        registry = _registry(settings)
        rows = [(s, registry.versions(s)) for s in registry.symbols()]
    except TickcastError as exc:
        _fail(exc)
    table = Table(title=f"registry {settings.mlflow_uri}")
    for column in ("symbol", "versions", "champion", "serves", "challenger", "event time"):
        table.add_column(column)
    for symbol, versions in rows:
        champion = next((v for v in versions if "champion" in v.aliases), None)
        challenger = next((v for v in versions if "challenger" in v.aliases), None)
        table.add_row(
            symbol, str(len(versions)),
            f"v{champion.version}" if champion else "-",
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
    try:
        versions = _registry(settings).versions(symbol)
    except TickcastError as exc:
        _fail(exc)
    table = Table(title=f"{symbol} in {settings.mlflow_uri}")
    for column in ("version", "aliases", "event time", "labels", "serves", "runner-up",
                   "served MAE / rw"):  # fmt: skip
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version), ",".join(v.aliases), _iso(v.ts), str(v.n_labels),
            v.champion_model, v.challenger_model, _fmt(v.served_mae_ratio),
        )  # fmt: skip
    Console().print(table)


@models_app.command("promote")
def models_promote(
    symbol: SymbolArg, version: Annotated[int, typer.Argument(help="version to serve")]
) -> None:
    """Point the champion alias at VERSION; running workers adopt it."""
    settings = load_settings()
    _setup_logging(settings)
    try:
        before = _registry(settings).promote(symbol, version)
    except TickcastError as exc:
        _fail(exc)
    except Exception as exc:  # MLflow's own errors (no such version) in one line
        _fail(TickcastError(f"cannot promote {symbol} v{version}: {exc}"))
    err.print(f"{symbol}: champion v{before} -> v{version}")


@models_app.command("rollback")
def models_rollback(symbol: SymbolArg) -> None:
    """Move the champion alias to the version before it; running workers adopt it."""
    settings = load_settings()
    _setup_logging(settings)
    try:
        before, after = _registry(settings).rollback(symbol)
    except TickcastError as exc:
        _fail(exc)
    err.print(f"{symbol}: champion v{before} -> v{after}")


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
