"""Dependencies: the stores the app was built with, as short Annotated aliases.

They are ``async`` because they do no I/O: a plain ``def`` would cost a thread hop per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError

from tickcast.api.schemas import ErrorOut, ForecastOut
from tickcast.records import Forecast
from tickcast.stores import ClickHouseStore, LatestStore

__all__ = ["NOT_FOUND", "UNAVAILABLE", "History", "Latest", "Services", "ServicesDep", "invalid"]


@dataclass
class Services:
    latest: LatestStore
    clickhouse: ClickHouseStore | None

    def render(self, forecast: Forecast) -> bytes:
        """A forecast as the API's JSON body."""
        return ForecastOut.of(forecast).model_dump_json().encode()


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_latest(services: ServicesDep) -> LatestStore:
    return services.latest


async def get_history(services: ServicesDep) -> ClickHouseStore:
    if services.clickhouse is None:
        raise HTTPException(503, "history is unavailable: no ClickHouse is configured")
    return services.clickhouse


Latest = Annotated[LatestStore, Depends(get_latest)]
History = Annotated[ClickHouseStore, Depends(get_history)]


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut, "description": "unknown"}}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorOut, "description": "a store is down"}
}


def invalid(where: str, name: str, message: str, value: Any) -> RequestValidationError:
    """A 422 in FastAPI's own shape (the schema's HTTPValidationError), for checks that a
    parameter's type cannot express."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (where, name), "msg": message, "input": value}]
    )
