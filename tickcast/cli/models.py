"""``tickcast models``: checkpointed model versions in the MLflow registry."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tickcast.cli.app import app, err, settings_of
from tickcast.cli.common import fmt, iso
from tickcast.exceptions import ConfigError, TickcastError

models_app = typer.Typer(help="Checkpointed model versions in the MLflow registry.")
app.add_typer(models_app, name="models")
SymbolArg = Annotated[str, typer.Argument(help="the symbol, e.g. AAPL")]


def _registry(ctx: typer.Context) -> Any:
    from tickcast.bootstrap import registry_client

    registry = registry_client(settings_of(ctx))
    if registry is None:
        raise ConfigError("TICKCAST_MLFLOW_URI is empty: no registry")
    return registry


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """Every symbol in the registry with its champion and challenger."""
    from tickcast.stores.registry_versions import CHALLENGER, CHAMPION, holding

    registry = _registry(ctx)
    rows = [(symbol, *described) for symbol, described in registry.overview().items()]
    table = Table(title=f"registry {registry.address}")
    for column in ("symbol", "versions", "champion", "serves", "challenger", "event time"):
        table.add_column(column)
    for symbol, versions, pinned in rows:
        champion, challenger = holding(versions, CHAMPION), holding(versions, CHALLENGER)
        table.add_row(
            symbol,
            str(len(versions)),
            (f"v{champion.version}" + (" (pinned)" if pinned else "")) if champion else "-",
            champion.selected_model if champion else "-",
            f"v{challenger.version}" if challenger else "-",
            iso(champion.ts) if champion else "-",
        )
    Console().print(table)


@models_app.command("show")
def models_show(ctx: typer.Context, symbol: SymbolArg) -> None:
    """Every version of one symbol, newest first."""
    registry = _registry(ctx)
    versions = registry.versions(symbol)
    table = Table(title=f"{symbol} in {registry.address}")
    for column in (
        "version",
        "aliases",
        "origin",
        "event time",
        "labels",
        "serves",
        "runner-up",
        "served MAE / rw",
    ):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.version),
            ",".join(v.aliases),
            v.origin,
            iso(v.ts),
            str(v.n_labels),
            v.selected_model,
            v.runner_up_model,
            fmt(v.served_mae_ratio),
        )
    Console().print(table)


@models_app.command("promote")
def models_promote(
    ctx: typer.Context,
    symbol: SymbolArg,
    version: Annotated[int, typer.Argument(help="version to serve")],
) -> None:
    """Point the champion alias at VERSION and pin it there (checkpoints leave a pinned
    champion alone until `models unpin`); running workers adopt it."""
    try:
        before = _registry(ctx).promote(symbol, version)
    except TickcastError:
        raise
    except Exception as exc:  # MLflow's own errors (no such version) in one line
        raise TickcastError(f"cannot promote {symbol} v{version}: {exc}") from None
    err.print(f"{symbol}: champion v{before} -> v{version} (pinned)")


@models_app.command("rollback")
def models_rollback(ctx: typer.Context, symbol: SymbolArg) -> None:
    """Move the champion alias to the version before it and pin it; running workers adopt it."""
    before, after = _registry(ctx).rollback(symbol)
    err.print(f"{symbol}: champion v{before} -> v{after} (pinned)")


@models_app.command("unpin")
def models_unpin(ctx: typer.Context, symbol: SymbolArg) -> None:
    """Let measured evidence move the champion alias again (after a promote or rollback)."""
    if _registry(ctx).unpin(symbol):
        err.print(f"{symbol}: champion unpinned; checkpoints with evidence move it again")
    else:
        err.print(f"{symbol}: the champion was not pinned")
