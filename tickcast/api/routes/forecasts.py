"""Forecasts: the latest per symbol (from the latest store) and history (from ClickHouse)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tickcast.api.cache import LatestCache
from tickcast.api.deps import (
    NOT_FOUND,
    UNAVAILABLE,
    History,
    Latest,
    PageDep,
    Rows,
    Services,
    SymbolPath,
    answering,
    invalid,
)
from tickcast.api.schemas import ForecastOut, LatestOut, OutcomeOut, OutcomesOut
from tickcast.records import datetime_ms, is_symbol

router = APIRouter(prefix="/forecasts", tags=["forecasts"])
MAX_SYMBOLS = 500


def wanted_symbols(symbols: list[str] | None) -> list[str]:
    """Symbols from repeated or comma-separated query values; a 422 names the bad ones."""
    wanted = [s.strip() for item in symbols or [] for s in item.split(",") if s.strip()]
    if len(wanted) > MAX_SYMBOLS:
        raise invalid("query", "symbols", f"at most {MAX_SYMBOLS} symbols per request", symbols)
    bad = [s for s in wanted if not is_symbol(s)]
    if bad:
        raise invalid("query", "symbols", f"invalid symbol(s): {', '.join(bad[:5])}", symbols)
    return wanted


@router.get("/latest", response_model=LatestOut, responses=UNAVAILABLE)
def latest_forecasts(
    latest: Latest,
    page: PageDep,
    symbols: Annotated[
        list[str] | None, Query(description="symbols, repeated or comma-separated")
    ] = None,
) -> LatestOut:
    """The latest served forecast of each requested symbol (without symbols: of every symbol,
    sorted, a page at a time)."""
    wanted = wanted_symbols(symbols)
    found = latest.get_many(wanted or page.of(latest.symbols()))
    return LatestOut(
        forecasts=[ForecastOut.of(f) for f in found.values()],
        missing=[s for s in wanted if s not in found],
    )


@router.get("/{symbol}", response_model=ForecastOut, responses={**NOT_FOUND, **UNAVAILABLE})
async def symbol_forecast(symbol: SymbolPath, request: Request) -> Response:
    """The latest served forecast for one symbol, from the API's copy in memory.

    The hottest route: it reads the services straight from the app (no dependency to solve)
    and answers with the JSON rendered once per update, about a third faster than the same
    through dependencies and a response model. While the copy is not live, the store is read
    on a worker thread, never on the event loop."""
    services: Services = request.app.state.services
    latest = services.latest
    assert isinstance(latest, LatestCache)  # create_app wraps every store in one
    body = latest.rendered_from_memory(symbol, services.render)
    if body is None and not latest.live:
        body = await run_in_threadpool(latest.rendered, symbol, services.render)
    if body is None:
        raise HTTPException(404, f"no forecast for symbol {symbol!r}")
    return Response(body, media_type="application/json")


@router.get(
    "/{symbol}/history", response_model=list[ForecastOut], responses={**NOT_FOUND, **UNAVAILABLE}
)
def symbol_history(
    symbol: SymbolPath,
    history: History,
    limit: Rows = 100,
) -> list[ForecastOut]:
    """The served forecasts of one symbol, newest first, from ClickHouse."""
    with answering("history"):
        found = history.served_forecasts(symbol, limit)
    if not found:
        raise HTTPException(404, f"no forecast history for symbol {symbol!r}")
    return [ForecastOut.of(forecast) for forecast in found]


@router.get(
    "/{symbol}/outcomes", response_model=OutcomesOut, responses={**NOT_FOUND, **UNAVAILABLE}
)
def symbol_outcomes(
    symbol: SymbolPath,
    history: History,
    start: Annotated[datetime | None, Query(description="from this event time (UTC)")] = None,
    end: Annotated[datetime | None, Query(description="before this event time (UTC)")] = None,
    limit: Rows = 1000,
) -> OutcomesOut:
    """The served forecasts made in [start, end) beside their outcomes, oldest first; without
    a range, the newest ``limit``."""
    if start and end and start >= end:
        raise invalid("query", "end", "end must be after start", str(end))
    newest_first = start is None
    with answering("history"):
        found = history.outcomes(
            symbol,
            None if start is None else datetime_ms(start),
            None if end is None else datetime_ms(end),
            limit + 1,
        )
    if not found and start is None and end is None:
        raise HTTPException(404, f"no outcomes yet for symbol {symbol!r}")
    kept = found[:limit]
    if newest_first:
        kept.reverse()
    return OutcomesOut(
        symbol=symbol, outcomes=[OutcomeOut.of(o) for o in kept], truncated=len(found) > limit
    )
