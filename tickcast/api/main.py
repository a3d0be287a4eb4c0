"""Builds the FastAPI app: middleware and routes; the stores come in as Services."""

from __future__ import annotations

import time
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickcast.api.cache import LatestCache
from tickcast.api.deps import Services
from tickcast.api.routes import forecasts, health, live, symbols
from tickcast.monitor.prometheus import API_LATENCY

__all__ = ["create_app"]


class RequestTimer:
    """Times each HTTP request by route and status (a plain ASGI middleware: Starlette's
    BaseHTTPMiddleware cost more than half of a bare endpoint's throughput)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            API_LATENCY.labels(route, str(status)).observe(time.perf_counter() - start)


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
        """Redis down is the client's 503 with the reason, not a 500."""
        reason = f"latest store unavailable: {type(exc).__name__}: {exc}".splitlines()[0]
        return JSONResponse({"detail": reason}, status_code=503)

    app.add_middleware(RequestTimer)
    app.include_router(health.router)
    app.include_router(symbols.router)
    app.include_router(forecasts.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(packages=[("tickcast.api", "static")]), name="static")
    assets = Path(str(resources.files("tickcast.api").joinpath("app/assets")))
    if assets.is_dir():  # the built application's scripts and styles
        app.mount("/assets", StaticFiles(directory=assets), name="assets")
    return app
