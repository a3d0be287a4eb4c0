"""Builds the FastAPI app: middleware and routes; the stores come in as Services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from tickcast.api.cache import LatestCache
from tickcast.api.deps import Services
from tickcast.api.edge import REQUEST_ID, Edge
from tickcast.api.routes import forecasts, health, live, symbols

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(services: Services) -> FastAPI:
    """An app that serves forecasts from ``services`` (latest store, optional ClickHouse)."""
    cache = services.latest
    if not isinstance(cache, LatestCache):
        cache = LatestCache(cache)
        services = replace(services, latest=cache)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(cache.start)  # subscribe and fill: I/O, off the event loop
        yield

    app = FastAPI(
        title="tickcast",
        summary="Latest and historical stock price forecasts from online models",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = services

    @app.exception_handler(RedisError)
    async def latest_store_down(request: Request, exc: RedisError) -> JSONResponse:
        """Redis down is the client's 503 naming the request, not a 500; the cause goes to
        the log line of that request."""
        request_id = REQUEST_ID.get()
        log.error("request %s: latest store unavailable: %s", request_id, _line(exc))
        detail = f"the latest store is unavailable (request {request_id})"
        return JSONResponse({"detail": detail}, status_code=503)

    app.add_middleware(Edge, token=services.limits.token)
    app.include_router(health.router)
    app.include_router(symbols.router)
    app.include_router(forecasts.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(packages=[("tickcast.api", "static")]), name="static")
    assets = Path(str(resources.files("tickcast.api").joinpath("app/assets")))
    if assets.is_dir():  # the built application's scripts and styles
        app.mount("/assets", StaticFiles(directory=assets), name="assets")
    return app


def _line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
