"""What is known per symbol: the symbols, its ticks, each model's quality, drift events and
the registry's versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from tickcast.api.deps import (
    NOT_FOUND,
    UNAVAILABLE,
    History,
    Latest,
    Models,
    PageDep,
    Rows,
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
from tickcast.stores.registry_versions import CHALLENGER, CHAMPION, holding

router = APIRouter(tags=["symbols"])
ERRORS = {**NOT_FOUND, **UNAVAILABLE}


@router.get("/symbols", response_model=list[str])
def symbols(latest: Latest, page: PageDep) -> list[str]:
    """The symbols with a latest forecast, sorted, a page at a time."""
    return page.of(latest.symbols())


@router.get("/symbols/{symbol}/ticks", response_model=list[TickOut], responses=ERRORS)
def ticks(
    symbol: SymbolPath,
    history: History,
    limit: Rows = 500,
) -> list[TickOut]:
    """The symbol's newest stored ticks, oldest first, with their bars where the source had
    them (the live page's candles)."""
    with answering("ticks"):
        found = history.ticks(symbol, limit)
    if not found:
        raise HTTPException(404, f"no ticks for symbol {symbol!r}")
    return [TickOut.of(tick) for tick in found]


@router.get("/symbols/{symbol}/quality", response_model=QualityOut, responses=ERRORS)
def quality(symbol: SymbolPath, history: History) -> QualityOut:
    """Each model's newest rolling quality (MAE over random_walk's, hit rate, coverage,
    interval score), the served model and since when it is served, from model_metrics."""
    with answering("quality"):
        rows = history.quality(symbol)
    if not rows:
        raise HTTPException(404, f"no metrics yet for symbol {symbol!r}")
    models = {row.pop("model"): ModelQualityOut(**finite(row)) for row in rows}
    selected = models[SERVED].based_on if SERVED in models else None
    since = None
    if selected is not None:
        with answering("quality"):
            since_ms = history.served_since(symbol, selected)
        since = None if since_ms is None else utc(since_ms)
    return QualityOut(symbol=symbol, selected=selected, served_since=since, models=models)


@router.get("/symbols/{symbol}/drift", response_model=list[DriftEventOut], responses=ERRORS)
def drift(
    symbol: SymbolPath,
    history: History,
    limit: Rows = 500,
) -> list[DriftEventOut]:
    """The symbol's newest drift events, oldest first, and what the learner did about each."""
    with answering("drift events"):
        found = history.drift_events(symbol, limit)
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
