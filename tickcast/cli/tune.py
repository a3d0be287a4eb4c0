"""``tickcast tune``: walk-forward cross-validation of a grid of hyper-parameters."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tickcast.cli.app import app, err, settings_of
from tickcast.cli.common import core_config, fmt, open_source, progress, read_toml
from tickcast.cli.options import ModelOptions, OptionalFiles, SourceOptions, SymbolOpt
from tickcast.exceptions import TickcastError

SHOWN = 20  # candidates in the printed table (all of them are in the JSON)


@app.command()
def tune(
    ctx: typer.Context,
    files: OptionalFiles = None,
    models_file: Annotated[
        Path, typer.Option(help="a models file whose [models.NAME.grid] tables list candidates")
    ] = Path("grid.toml"),
    folds: Annotated[int, typer.Option(help="consecutive evaluation folds per series", min=2)] = 4,
    symbol: SymbolOpt = None,
    sample: Annotated[bool, typer.Option(help="use the bundled SP500 sample")] = False,
    out: Annotated[
        Path, typer.Option(help="write the winning spec here, as a models file", dir_okay=False)
    ] = Path("tuned.toml"),
    json_out: Annotated[
        Path, typer.Option("--json-out", help="write every candidate's figures here")
    ] = Path("tune.json"),
) -> None:
    """Rank a grid of hyper-parameters by walk-forward cross-validation (no look-ahead) and
    write the winning spec as a models file that worker, replay and backtest accept."""
    import tomli_w

    from tickcast.analysis.tune import read_grid, tune

    settings = settings_of(ctx)
    if not files and not sample:
        raise TickcastError("give tick files, or --sample for the bundled sample")
    grid = read_toml(models_file)
    _, candidates = read_grid(grid)
    source = open_source(SourceOptions(files=files, symbol=symbol))
    assert isinstance(source.records, list), "files and the sample are read up front"
    base = core_config(settings, ModelOptions())
    passes = -(-len(candidates) // 99)
    err.print(
        f"tuning {len(candidates)} candidate(s) on {source.name}: {folds} folds, "
        f"{passes} pass(es) of {len(source.records)} records"
    )
    total = None if source.total is None else source.total * passes
    with progress("tune", total) as advance:
        result = tune(source.records, grid, folds, base=base, on_progress=advance)
    json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str))
    out.write_text(tomli_w.dumps(result.models_file))
    _print(result.ranking)
    err.print(f"winning spec: {out} (every candidate: {json_out})")


def _print(ranking: list[dict[str, object]]) -> None:
    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(title="candidates by mean MAE ratio to the random walk over the folds")
    for column in ("rank", "candidate", "mae/rw", "± over folds", "winkler", "coverage"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for row in ranking[:SHOWN]:
        grid = row["grid"]
        assert isinstance(grid, dict)
        values = ", ".join(f"{k}={v}" for k, v in grid.items())
        table.add_row(
            str(row["rank"]),
            f"{row['model']} ({values})" if values else str(row["model"]),
            *(fmt(row[k]) for k in ("mae_ratio", "mae_ratio_std", "interval_score", "coverage")),
        )
    console.print(table)
