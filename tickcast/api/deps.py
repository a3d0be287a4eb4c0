"""Dependencies: the stores the app was built with, as short Annotated aliases.

They are ``async`` because they do no I/O: a plain ``def`` would cost a thread hop per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError

from tickcast.api.schemas import ErrorOut, ForecastOut
from tickcast.records import SYMBOL_RE, Forecast
from tickcast.stores import ClickHouseStore, LatestStore
from tickcast.stores.registry import Registry

__all__ = [
    "NOT_FOUND",
    "UNAVAILABLE",
    "History",
    "Latest",
    "Models",
    "Services",
    "ServicesDep",
    "SymbolPath",
    "answering",
    "invalid",
]

SymbolPath = Annotated[str, Path(pattern=SYMBOL_RE.pattern, description="e.g. AAPL, ^GSPC")]


@dataclass
class Services:
    latest: LatestStore
    clickhouse: ClickHouseStore | None
    mlflow_uri: str = ""  # the model registry; empty: none
    _registry: Registry | None = field(default=None, init=False, repr=False)

    def registry(self) -> Registry | None:
        """The registry client, made on first use (MLflow takes seconds to import)."""
        if self._registry is None and self.mlflow_uri:
            self._registry = Registry(self.mlflow_uri)
        return self._registry

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


def get_models(services: ServicesDep) -> Registry:
    """A plain ``def``: the first call imports MLflow, off the event loop."""
    registry = services.registry()
    if registry is None:
        raise HTTPException(503, "the model registry is unavailable: no MLflow URI is configured")
    return registry


Latest = Annotated[LatestStore, Depends(get_latest)]
History = Annotated[ClickHouseStore, Depends(get_history)]
Models = Annotated[Registry, Depends(get_models)]


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


@contextmanager
def answering(what: str) -> Iterator[None]:
    """A store failure inside becomes the client's 503 naming ``what``, not a 500."""
    try:
        yield
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(503, f"{what} is unavailable: {exc}".splitlines()[0]) from None
