"""Dependencies: the stores the app was built with, as short Annotated aliases.

They are ``async`` because they do no I/O: a plain ``def`` would cost a thread hop per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from tickcast.api.schemas import ForecastOut
from tickcast.records import Forecast
from tickcast.stores import ClickHouseStore, LatestStore

__all__ = ["History", "Latest", "Services", "ServicesDep"]


@dataclass
class Services:
    latest: LatestStore
    clickhouse: ClickHouseStore | None
    interval_level: float = 0.9

    def render(self, forecast: Forecast) -> bytes:
        """A forecast as the API's JSON body."""
        return ForecastOut.of(forecast, self.interval_level).model_dump_json().encode()


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
