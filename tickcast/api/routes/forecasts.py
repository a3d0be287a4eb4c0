"""Forecasts: the latest per symbol (from the latest store) and history (from ClickHouse)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from tickcast.api.cache import LatestCache
from tickcast.api.deps import NOT_FOUND, UNAVAILABLE, History, Latest, Services, invalid
from tickcast.api.schemas import ForecastOut, LatestOut
from tickcast.online_model import SERVED
from tickcast.records import SYMBOL_RE, Forecast

router = APIRouter(prefix="/forecasts", tags=["forecasts"])
SymbolPath = Annotated[str, Path(pattern=SYMBOL_RE.pattern, description="e.g. AAPL, ^GSPC")]
MAX_SYMBOLS = 500


def wanted_symbols(symbols: list[str] | None) -> list[str]:
    """Symbols from repeated or comma-separated query values; a 422 names the bad ones."""
    wanted = [s.strip() for item in symbols or [] for s in item.split(",") if s.strip()]
    if len(wanted) > MAX_SYMBOLS:
        raise invalid("query", "symbols", f"at most {MAX_SYMBOLS} symbols per request", symbols)
    bad = [s for s in wanted if not SYMBOL_RE.match(s)]
    if bad:
        raise invalid("query", "symbols", f"invalid symbol(s): {', '.join(bad[:5])}", symbols)
    return wanted


@router.get("/latest", response_model=LatestOut, responses=UNAVAILABLE)
def latest_forecasts(
    latest: Latest,
    symbols: Annotated[
        list[str] | None, Query(description="symbols, repeated or comma-separated")
    ] = None,
) -> LatestOut:
    """The latest served forecast of each requested symbol (all symbols when none is given)."""
    wanted = wanted_symbols(symbols)
    found = latest.get_many(wanted or latest.symbols())
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
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[ForecastOut]:
    """The served forecasts of one symbol, newest first, from ClickHouse."""
    try:
        found = history.records(
            "forecasts",
            Forecast,
            "symbol = {symbol:String} AND model = {model:String}",
            {"symbol": symbol, "model": SERVED},
            order="ts DESC, seq DESC",
            limit=limit,
        )
    except Exception as exc:  # a store failure is the client's 503, not a 500
        raise HTTPException(503, f"history is unavailable: {exc}".splitlines()[0]) from None
    if not found:
        raise HTTPException(404, f"no forecast history for symbol {symbol!r}")
    return [ForecastOut.of(forecast) for forecast in found]
