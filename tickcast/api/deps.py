"""Dependencies: the stores the app was built with, as short Annotated aliases.

They are ``async`` because they do no I/O: a plain ``def`` would cost a thread hop per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from tickcast.api.edge import REQUEST_ID
from tickcast.api.schemas import ErrorOut, ForecastOut
from tickcast.records import SYMBOL_RE, Forecast
from tickcast.stores import ClickHouseStore, LatestStore
from tickcast.stores.history import HistoryReader
from tickcast.stores.registry import Registry

__all__ = [
    "NOT_FOUND",
    "UNAVAILABLE",
    "History",
    "Rows",
    "Latest",
    "Limits",
    "Models",
    "PageDep",
    "Services",
    "ServicesDep",
    "SymbolPath",
    "answering",
    "invalid",
]

log = logging.getLogger(__name__)
MAX_PAGE = 10_000
SymbolPath = Annotated[str, Path(pattern=SYMBOL_RE.pattern, description="e.g. AAPL, ^GSPC")]


@dataclass(frozen=True)
class Limits:
    """Who may ask and how much: the bearer token (empty: none), Server-Sent Events streams
    at once, and how long a stream that has nothing to send stays open."""

    token: str = ""
    max_streams: int = 100
    stream_idle_s: float = 300.0


@dataclass
class Services:
    latest: LatestStore
    clickhouse: ClickHouseStore | None
    mlflow_uri: str = ""  # the model registry; empty: none
    limits: Limits = field(default_factory=Limits)
    mlflow_login: tuple[str, str] = field(default=("", ""), repr=False)  # user, password
    _registry: Registry | None = field(default=None, init=False, repr=False, compare=False)
    _making: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def registry(self) -> Registry | None:
        """The registry client, made once, on first use: MLflow takes seconds to import and to
        open its store, and doing that at start in the background halved the API's requests/s
        (p99 15 ms to 150 ms) for its first seconds (bench/api.py)."""
        if self._registry is not None or not self.mlflow_uri:
            return self._registry
        with self._making:
            if self._registry is None:
                self._registry = Registry(self.mlflow_uri, *self.mlflow_login)
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


async def get_history(services: ServicesDep) -> HistoryReader:
    if services.clickhouse is None:
        raise HTTPException(503, "history is unavailable: no ClickHouse is configured")
    return HistoryReader(services.clickhouse)


def get_models(services: ServicesDep) -> Registry:
    """A plain ``def``: the first call imports MLflow, off the event loop."""
    registry = services.registry()
    if registry is None:
        raise HTTPException(503, "the model registry is unavailable: no MLflow URI is configured")
    return registry


@dataclass(frozen=True)
class Page:
    """Which part of a sorted list to answer: ``limit`` items after the first ``offset``."""

    limit: int
    offset: int

    def of(self, items: list[str]) -> list[str]:
        return items[self.offset : self.offset + self.limit]


async def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="items at most")] = 1000,
    offset: Annotated[int, Query(ge=0, description="items to pass over")] = 0,
) -> Page:
    return Page(limit, offset)


Latest = Annotated[LatestStore, Depends(get_latest)]
PageDep = Annotated[Page, Depends(get_page)]
Rows = Annotated[int, Query(ge=1, le=10_000)]  # rows at most, of a history read
History = Annotated[HistoryReader, Depends(get_history)]
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
    """A store failure inside becomes the client's 503 naming ``what`` and the request, not a
    500; the cause (which may name hosts and users) goes to that request's log line only."""
    try:
        yield
    except HTTPException:
        raise
    except Exception as exc:
        request_id = REQUEST_ID.get()
        cause = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        log.error("request %s: %s unavailable: %s", request_id, what, cause)
        raise HTTPException(503, f"{what} is unavailable (request {request_id})") from None
