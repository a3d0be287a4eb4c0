"""The commands that run the core in this process: ``backtest``, ``replay`` and ``demo``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tickcast.cli.app import app, err, settings_of
from tickcast.cli.common import Source, announce, core_config, fmt, open_source, progress
from tickcast.cli.options import (
    HostOpt,
    ModelOptions,
    MoveAliasesOpt,
    OptionalFiles,
    PortOpt,
    SourceOptions,
    SpeedOpt,
    SymbolOpt,
    with_option_groups,
)
from tickcast.cli.serve import serve
from tickcast.config import Settings
from tickcast.exceptions import TickcastError
from tickcast.online_model import SERVED, CoreConfig

if TYPE_CHECKING:
    from tickcast.analysis.backtest import BacktestReport
    from tickcast.bootstrap import Stores
    from tickcast.stores import LatestStore
    from tickcast.stream_processors import MemorySink


@app.command()
@with_option_groups
def backtest(
    ctx: typer.Context,
    model: ModelOptions,
    files: OptionalFiles = None,
    symbol: SymbolOpt = None,
    sample: Annotated[bool, typer.Option(help="use the bundled SP500 sample")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report", help="write metrics.json, plots and index.html here"),
    ] = None,
    outcomes: Annotated[
        Path | None,
        typer.Option(
            "--outcomes",
            help="write every forecast with its outcome to this Parquet file",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Prequential metrics per symbol and model, from the same core as the live system."""
    from tickcast.analysis.backtest import run_backtest
    from tickcast.stream_processors import MemorySink
    from tickcast.stream_processors.outcomes_file import OutcomesFile

    settings = settings_of(ctx)
    if not files and not sample:
        raise TickcastError("give tick files, or --sample for the bundled sample")
    config = core_config(settings, model)
    source = open_source(SourceOptions(files=files, symbol=symbol))
    assert isinstance(source.records, list), "files and the sample are read up front"
    memory = MemorySink() if report_dir else None
    if outcomes is not None and not outcomes.parent.is_dir():
        raise TickcastError(f"--outcomes {outcomes}: no folder {outcomes.parent}")
    table = OutcomesFile(outcomes) if outcomes is not None else None
    sinks = [s for s in (memory, table) if s is not None]
    with progress("backtest", source.total) as advance:
        report = run_backtest(source.records, config, sinks=sinks, on_progress=advance)
    if table is not None:
        table.close()
        err.print(f"outcomes: {outcomes} ({table.rows} forecasts)")
    result = report.to_dict()
    if report_dir is not None and memory is not None:
        _write_report(settings, report_dir, report, memory, source.name)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    _print_report(result)


def _write_report(
    settings: Settings, out: Path, report: BacktestReport, memory: MemorySink, source: str
) -> None:
    """The report folder, then the same folder as an MLflow run (a failure there only warns)."""
    from tickcast.analysis.report import log_to_mlflow, write_report

    with err.status(f"plotting into {out}"):
        written = write_report(out, report, memory.ticks, memory.forecasts, memory.outcomes)
    err.print(f"report: {out / 'index.html'} ({len(written)} files)")
    from tickcast.bootstrap import registry_client

    registry = registry_client(settings)
    if registry is None:
        return
    params = {
        "source": source[:500],
        "horizon": str(report.config.horizon),
        "level": str(report.config.level),
        "models": ",".join(m.name for m in report.config.models),
    }
    try:
        result = json.loads((out / "metrics.json").read_text())  # the page's figures
        run_id = log_to_mlflow(registry, out, result, params)
    except Exception as exc:  # the report is on disk; MLflow is a copy
        err.print(f"[yellow]warning:[/yellow] not logged to MLflow {registry.address}: {exc}")
        return
    err.print(f"logged to MLflow {registry.address} as run {run_id}", soft_wrap=True)


def _print_report(result: dict[str, Any]) -> None:
    from tickcast.analysis.report import TABLE_COLUMNS, column_title

    console = Console() if sys.stdout.isatty() else Console(width=220)
    table = Table(
        title=f"pooled over {len(result['symbols'])} symbol(s), horizon {result['horizon']}"
    )
    table.add_column("model")
    for column in TABLE_COLUMNS:
        table.add_column(column_title(column), justify="right")
    for model, metrics in result["pooled"].items():
        cells = [fmt(metrics.get(c)) for c in TABLE_COLUMNS]
        table.add_row(f"[bold]{model}[/bold]" if model == SERVED else model, *cells)
    console.print(table)
    counts = result["counts"]
    console.print(
        f"ticks ok {counts.get('ok', 0)}, invalid {counts.get('invalid', 0)}, "
        f"duplicate {counts.get('duplicate', 0)}, late {counts.get('late', 0)}"
    )


async def run_pipeline(
    settings: Settings,
    config: CoreConfig,
    source: Source,
    stores: Stores,
    label: str,
    speed: float = 0.0,
    move_aliases: bool = False,
) -> dict[str, int]:
    """The embedded runtime over ``source``, checkpoints into the registry (never warm
    starts: a replay stays repeatable); returns the ticks' counts by status."""
    from tickcast import bootstrap
    from tickcast.producers import paced
    from tickcast.stream_processors import run_embedded

    registry = bootstrap.registry_of(settings, watch=False)
    if registry is not None:
        registry.start()
    runtime = bootstrap.embedded(
        settings, config, stores, source=label, move_aliases=move_aliases, registry=registry
    )
    records = source.records
    if speed and not isinstance(records, AsyncIterator):
        records = paced(records, speed)
    with progress(label, source.total) as advance:
        await run_embedded(records, runtime, on_progress=advance)
    if registry is not None:
        with err.status(f"writing {registry.pending} checkpoint(s) to MLflow"):
            await asyncio.get_running_loop().run_in_executor(None, registry.close)
    return dict(runtime.pipeline.counts)


@app.command()
@with_option_groups
def replay(
    ctx: typer.Context,
    source: SourceOptions,
    model: ModelOptions,
    move_aliases: MoveAliasesOpt = False,
) -> None:
    """Run ticks through the embedded pipeline into ClickHouse and the latest store."""
    from tickcast import bootstrap

    settings = settings_of(ctx)
    config = core_config(settings, model)
    ticks = open_source(source)
    stores = bootstrap.open_stores(settings)
    announce("replay", settings, source=ticks.name, ticks=ticks.total, speed=source.speed)
    start = time.perf_counter()
    counts = asyncio.run(
        run_pipeline(settings, config, ticks, stores, "replay", source.speed, move_aliases)
    )
    elapsed = time.perf_counter() - start
    n = sum(counts.values())
    typer.echo(
        json.dumps(
            {
                "ticks": n,
                "seconds": round(elapsed, 3),
                "ticks_per_s": round(n / elapsed) if elapsed > 0 else 0,
                "counts": counts,
            }
        )
    )


@app.command()
def demo(
    ctx: typer.Context,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the API and live page meanwhile")
    ] = True,
    host: HostOpt = None,
    port: PortOpt = None,
    speed: SpeedOpt = 0.0,
    move_aliases: MoveAliasesOpt = False,
) -> None:
    """Replay the bundled sample through the embedded pipeline while serving the API and the
    live page (open http://127.0.0.1:8000/); --speed 2000000 replays it over about a minute."""
    from tickcast import bootstrap

    settings = settings_of(ctx, api_host=host, api_port=port)
    config = core_config(settings)
    stores = bootstrap.open_stores(settings)
    source = open_source(SourceOptions())
    api = f"http://{settings.api_host}:{settings.api_port}"
    announce(
        "demo", settings, source="sp500-sample", ticks=source.total, api=api if serve_api else "off"
    )
    asyncio.run(_demo(settings, config, source, stores, serve_api, speed, move_aliases))


async def _demo(
    settings: Settings,
    config: CoreConfig,
    source: Source,
    stores: Stores,
    serve_api: bool,
    speed: float,
    move_aliases: bool,
) -> None:
    latest = stores.latest
    replay = asyncio.create_task(
        run_pipeline(settings, config, source, stores, "demo", speed, move_aliases)
    )
    if not serve_api:
        _replayed(await replay, latest)
        return
    server = asyncio.create_task(serve(settings, stores.clickhouse, latest))
    err.print(
        f"serving on http://{settings.api_host}:{settings.api_port}  (open it in a "
        "browser, or try /forecasts/AAPL; Ctrl-C stops)"
    )
    done, _ = await asyncio.wait({replay, server}, return_when=asyncio.FIRST_COMPLETED)
    if replay in done:
        _replayed(replay.result(), latest)
        await server
    else:  # stopped during the replay
        replay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await replay


def _replayed(counts: dict[str, int], latest: LatestStore) -> None:
    symbols = latest.symbols()
    err.print(
        f"replayed {sum(counts.values())} ticks ({counts}); forecasts for {len(symbols)} "
        f"symbols: {', '.join(symbols)}"
    )
