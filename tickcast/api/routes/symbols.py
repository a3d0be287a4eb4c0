"""What is known per symbol: the symbols, its ticks, each model's quality, drift events and
the registry's versions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query

from tickcast.api.deps import (
    NOT_FOUND,
    UNAVAILABLE,
    History,
    Latest,
    Models,
    PageDep,
    SymbolPath,
    answering,
)
from tickcast.api.schemas import (
    DriftEventOut,
    ModelQualityOut,
    QualityOut,
    TickOut,
    VersionOut,
    VersionsOut,
    utc,
)
from tickcast.exceptions import TickcastError
from tickcast.messages import finite
from tickcast.online_model import SERVED
from tickcast.records import DriftEvent, Tick
from tickcast.stores.registry import CHALLENGER, CHAMPION, holding

router = APIRouter(tags=["symbols"])
ERRORS = {**NOT_FOUND, **UNAVAILABLE}
ROLLING = "symbol = {symbol:String} AND window = 'rolling'"
R = TypeVar("R")


@router.get("/symbols", response_model=list[str])
def symbols(latest: Latest, page: PageDep) -> list[str]:
    """The symbols with a latest forecast, sorted, a page at a time."""
    return page.of(latest.symbols())


@router.get("/symbols/{symbol}/ticks", response_model=list[TickOut], responses=ERRORS)
def ticks(
    symbol: SymbolPath,
    history: History,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[TickOut]:
    """The symbol's newest stored ticks, oldest first, with their bars where the source had
    them (the live page's candles)."""
    found = _newest(history, "ticks", Tick, symbol, limit, order="ts DESC, seq DESC")
    if not found:
        raise HTTPException(404, f"no ticks for symbol {symbol!r}")
    return [TickOut.of(tick) for tick in found]


@router.get("/symbols/{symbol}/quality", response_model=QualityOut, responses=ERRORS)
def quality(symbol: SymbolPath, history: History) -> QualityOut:
    """Each model's newest rolling quality (MAE over random_walk's, hit rate, coverage,
    interval score), the served model and since when it is served, from model_metrics."""
    with answering("quality"):
        rows = history.query(
            "SELECT model, argMax(based_on, ts) AS based_on, argMax(n, ts) AS n,"
            " argMax(mae, ts) AS mae, argMax(mae_ratio_vs_random_walk, ts) AS mae_ratio,"
            " argMax(hit_rate, ts) AS hit_rate, argMax(coverage, ts) AS coverage,"
            " argMax(interval_score, ts) AS interval_score"
            f" FROM model_metrics FINAL WHERE {ROLLING} GROUP BY model ORDER BY model",
            {"symbol": symbol},
        )
    if not rows:
        raise HTTPException(404, f"no metrics yet for symbol {symbol!r}")
    models = {row.pop("model"): ModelQualityOut(**finite(row)) for row in rows}
    selected = models[SERVED].based_on if SERVED in models else None
    since = None if selected is None else _served_since(history, symbol, selected)
    return QualityOut(symbol=symbol, selected=selected, served_since=since, models=models)


def _served_since(history: History, symbol: str, selected: str) -> datetime | None:
    """The first metrics row after the last one that served another model."""
    with answering("quality"):
        [row] = history.query(
            "SELECT toUnixTimestamp64Milli(min(ts)) AS since FROM model_metrics FINAL"
            f" WHERE {ROLLING} AND model = {{served:String}} AND ts > ("
            " SELECT max(ts) FROM model_metrics FINAL"
            f" WHERE {ROLLING} AND model = {{served:String}} AND based_on != {{selected:String}})",
            {"symbol": symbol, "served": SERVED, "selected": selected},
        )
    return utc(row["since"]) if row["since"] else None


@router.get("/symbols/{symbol}/drift", response_model=list[DriftEventOut], responses=ERRORS)
def drift(
    symbol: SymbolPath,
    history: History,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[DriftEventOut]:
    """The symbol's newest drift events, oldest first, and what the learner did about each."""
    found = _newest(history, "drift_events", DriftEvent, symbol, limit)
    return [DriftEventOut.of(event) for event in found]


@router.get("/symbols/{symbol}/versions", response_model=VersionsOut, responses=ERRORS)
def versions(
    symbol: SymbolPath,
    registry: Models,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0, description="versions to pass over, newest first")] = 0,
) -> VersionsOut:
    """The registry's versions of the symbol, newest first, with its champion and
    challenger."""
    with answering("the model registry"):
        try:
            found, pinned = registry.listing(symbol)
        except TickcastError:  # no registered model
            raise HTTPException(404, f"no registered versions for symbol {symbol!r}") from None

    def version(alias: str) -> int | None:
        held = holding(found, alias)
        return None if held is None else held.version

    return VersionsOut(
        symbol=symbol,
        champion=version(CHAMPION),
        challenger=version(CHALLENGER),
        pinned=pinned,
        versions=[VersionOut.of(v) for v in found[offset : offset + limit]],
    )


def _newest(
    history: History, table: str, record: type[R], symbol: str, limit: int, order: str = "ts DESC"
) -> list[R]:
    """The symbol's newest ``limit`` rows of ``table``, oldest first."""
    with answering(table.replace("_", " ")):
        found = history.records(
            table, record, "symbol = {symbol:String}", {"symbol": symbol}, order, limit
        )
    return found[::-1]
