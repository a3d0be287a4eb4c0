"""Builds the FastAPI app: middleware and routes; the stores come in as Services."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError

from tickcast.api.cache import LatestCache
from tickcast.api.deps import Services
from tickcast.api.routes import forecasts, health, live, symbols
from tickcast.monitor.metrics import API_LATENCY

__all__ = ["create_app"]


def create_app(services: Services) -> FastAPI:
    """An app that serves forecasts from ``services`` (latest store, optional ClickHouse)."""
    app = FastAPI(
        title="tickcast",
        summary="Latest and historical stock price forecasts from online models",
        version="0.1.0",
    )
    if not isinstance(services.latest, LatestCache):
        services = replace(services, latest=LatestCache(services.latest))
    app.state.services = services

    @app.middleware("http")
    async def time_requests(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        API_LATENCY.labels(path, str(response.status_code)).observe(time.perf_counter() - start)
        return response

    @app.exception_handler(RedisError)
    async def latest_store_down(request: Request, exc: RedisError) -> JSONResponse:
        """Redis down is the client's 503 with the reason, not a 500."""
        reason = f"latest store unavailable: {type(exc).__name__}: {exc}".splitlines()[0]
        return JSONResponse({"detail": reason}, status_code=503)

    app.include_router(health.router)
    app.include_router(symbols.router)
    app.include_router(forecasts.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(packages=[("tickcast.api", "static")]), name="static")
    return app
