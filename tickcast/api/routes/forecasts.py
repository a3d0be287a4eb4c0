"""Forecasts: the latest per symbol (from the latest store) and history (from ClickHouse)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from tickcast.api.cache import LatestCache
from tickcast.api.deps import History, Latest, ServicesDep
from tickcast.api.schemas import ForecastOut, LatestOut
from tickcast.online_model import SERVED
from tickcast.records import SYMBOL_RE, Forecast

router = APIRouter(prefix="/forecasts", tags=["forecasts"])
SymbolPath = Annotated[str, Path(pattern=SYMBOL_RE.pattern, description="e.g. AAPL, ^GSPC")]
MAX_SYMBOLS = 500


@router.get("/latest", response_model=LatestOut)
async def latest_forecasts(
    latest: Latest,
    services: ServicesDep,
    symbols: Annotated[
        list[str] | None, Query(description="symbols, repeated or comma-separated")
    ] = None,
) -> LatestOut:
    """The latest served forecast of each requested symbol (all symbols when none is given)."""
    wanted = [s.strip() for item in symbols or [] for s in item.split(",") if s.strip()]
    if len(wanted) > MAX_SYMBOLS:
        raise HTTPException(422, f"at most {MAX_SYMBOLS} symbols per request")
    bad = [s for s in wanted if not SYMBOL_RE.match(s)]
    if bad:
        raise HTTPException(422, f"invalid symbol(s): {', '.join(bad[:5])}")
    found = latest.get_many(wanted or latest.symbols())
    level = services.interval_level
    return LatestOut(
        forecasts=[ForecastOut.of(f, level) for f in found.values()],
        missing=[s for s in wanted if s not in found],
    )


@router.get("/{symbol}", response_model=ForecastOut, responses={404: {"description": "unknown"}})
async def symbol_forecast(symbol: SymbolPath, latest: Latest, services: ServicesDep) -> Response:
    """The latest served forecast for one symbol (async: the API's copy is in memory)."""
    level = services.interval_level

    def render(forecast: Forecast) -> bytes:
        return ForecastOut.of(forecast, level).model_dump_json().encode()

    if isinstance(latest, LatestCache):
        body = latest.rendered(symbol, render)
    else:
        found = latest.get(symbol)
        body = None if found is None else render(found)
    if body is None:
        raise HTTPException(404, f"no forecast for symbol {symbol!r}")
    return Response(body, media_type="application/json")


@router.get("/{symbol}/history", response_model=list[ForecastOut])
def symbol_history(
    symbol: SymbolPath,
    history: History,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[ForecastOut]:
    """The served forecasts of one symbol, newest first, from ClickHouse."""
    try:
        rows = history.query(
            "SELECT * FROM forecasts FINAL WHERE symbol = {symbol:String}"
            " AND model = {model:String} ORDER BY ts DESC LIMIT {limit:UInt32}",
            {"symbol": symbol, "model": SERVED, "limit": limit},
        )
    except Exception as exc:  # a store failure is the client's 503, not a 500
        raise HTTPException(503, f"history is unavailable: {exc}".splitlines()[0]) from None
    if not rows:
        raise HTTPException(404, f"no forecast history for symbol {symbol!r}")
    level = services.interval_level
    return [ForecastOut.of(_forecast(row), level) for row in rows]


def _forecast(row: dict[str, Any]) -> Forecast:
    ts: datetime = row["ts"]  # ClickHouse hands back naive UTC datetimes
    row["ts"] = int(ts.replace(tzinfo=UTC).timestamp() * 1000)
    return Forecast(**row)
