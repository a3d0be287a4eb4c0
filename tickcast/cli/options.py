"""The options several commands share, and the tick source's options as one group."""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer


def finite_non_negative(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"{value} is not a finite number >= 0")
    return value


def finite_positive(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value} is not a finite number > 0")
    return value


HorizonOpt = Annotated[int | None, typer.Option(help="ticks ahead to forecast")]
ModelsOpt = Annotated[
    str | None, typer.Option(help="comma-separated models (default set when empty)")
]
LevelOpt = Annotated[float | None, typer.Option(help="nominal interval coverage")]
ModelsFileOpt = Annotated[
    Path | None, typer.Option(help="TOML file of model specs (see models.example.toml)")
]
OptionalFiles = Annotated[list[Path] | None, typer.Argument(help="tick files (CSV/Parquet)")]
SymbolOpt = Annotated[str | None, typer.Option(help="symbol for single-symbol (yfinance) files")]
HostOpt = Annotated[str | None, typer.Option(help="API address (TICKCAST_API_HOST)")]
PortOpt = Annotated[int | None, typer.Option(help="API port (TICKCAST_API_PORT)")]
SpeedOpt = Annotated[
    float,
    typer.Option(help="0: as fast as possible, N: N x real time", callback=finite_non_negative),
]
MoveAliasesOpt = Annotated[
    bool,
    typer.Option(
        help="let this run's checkpoints move the registry's champion and challenger "
        "aliases, which live workers follow (off: a replay never swaps their models)"
    ),
]


@dataclass(frozen=True)
class SourceOptions:
    """Where ticks come from: files, the synthetic generator (``live``: stamped with the wall
    clock, paced at ``rate``) or, with none of them, the bundled sample."""

    files: OptionalFiles = None
    symbol: SymbolOpt = None
    speed: SpeedOpt = 0.0
    synthetic: Annotated[
        int, typer.Option(help="N synthetic ticks instead of files (with --live, 0: no end)", min=0)
    ] = 0
    symbols: Annotated[int, typer.Option(help="symbols of the synthetic source", min=1)] = 10
    seed: Annotated[int, typer.Option(help="seed of the synthetic source")] = 7
    live: Annotated[
        bool,
        typer.Option(
            help="synthetic ticks stamped with the wall clock as they are made, paced at "
            "--rate (the compose stack's producer)"
        ),
    ] = False
    rate: Annotated[
        float, typer.Option(help="ticks per second of --live", callback=finite_positive)
    ] = 20.0
    regime_every: Annotated[
        int,
        typer.Option(
            help="synthetic: a planted regime (4x volatility, reversed autocorrelation) "
            "switched on and off every N steps of a symbol; 0: none",
            min=0,
        ),
    ] = 0


@dataclass(frozen=True)
class ModelOptions:
    """The core's configuration from flags, over a models file over the environment."""

    horizon: HorizonOpt = None
    models: ModelsOpt = None
    level: LevelOpt = None
    models_file: ModelsFileOpt = None


GROUPS = (SourceOptions, ModelOptions)


def with_option_groups(command: Callable[..., Any]) -> Callable[..., Any]:
    """The command with the fields of each option group it takes (a parameter annotated
    SourceOptions or ModelOptions) as options of its own, handed to it as one object each:
    one definition of them for every command. Typer reads the signature and annotations
    given here, resolved."""
    hints = typing.get_type_hints(command, include_extras=True)
    hints.pop("return", None)
    groups = {name: kind for name, kind in hints.items() if kind in GROUPS}
    params = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.name not in groups
    ]
    for kind in groups.values():
        group_hints = typing.get_type_hints(kind, include_extras=True)
        params += [
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=f.default,
                annotation=group_hints[f.name],
            )
            for f in fields(kind)
        ]

    @functools.wraps(command)
    def run(**kwargs: Any) -> Any:
        for name, kind in groups.items():
            kwargs[name] = kind(**{f.name: kwargs.pop(f.name) for f in fields(kind)})
        return command(**kwargs)

    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run
