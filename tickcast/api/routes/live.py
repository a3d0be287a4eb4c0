"""The live page (GET /) and its Server-Sent Events (GET /stream).

``/stream`` sends the latest forecast of every (or each requested) symbol at once, then each
new one as the latest store announces it: the Redis publish with a Redis store, the writer's
own call in the embedded demo. A slow client loses old events, never the newest one.
FastAPI's own Server-Sent Events support writes the events and the keep-alive pings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from tickcast.api.deps import Latest, ServicesDep
from tickcast.api.routes.forecasts import wanted_symbols
from tickcast.records import Forecast

router = APIRouter(tags=["live"])
QUEUE_SIZE = 1000
RETRY_MS = 2000  # how soon a browser reconnects after the server went away


APP = resources.files("tickcast.api").joinpath("app")  # frontend/'s build (npm run build)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    """The React application when it is built (``frontend/``), else the static live page."""
    built = APP.joinpath("index.html")
    if built.is_file():
        return HTMLResponse(built.read_text())
    return HTMLResponse(resources.files("tickcast.api").joinpath("static/index.html").read_text())


def streamed_symbols(
    symbols: Annotated[str | None, Query(description="comma-separated; all when absent")] = None,
) -> set[str] | None:
    """The symbols a stream asks for, checked before the stream starts (a 422, not a broken
    stream)."""
    return set(wanted_symbols([symbols] if symbols else None)) or None


@router.get("/stream", response_class=EventSourceResponse)
async def stream(
    latest: Latest,
    services: ServicesDep,
    wanted: Annotated[set[str] | None, Depends(streamed_symbols)],
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: one ``forecast`` event per new served forecast (JSON data)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Forecast] = asyncio.Queue(QUEUE_SIZE)

    def put(forecast: Forecast) -> None:
        if queue.full():  # a slow client: drop the oldest, keep the newest
            queue.get_nowait()
        queue.put_nowait(forecast)

    def on_forecast(forecast: Forecast) -> None:  # called from the store's thread
        if wanted is None or forecast.symbol in wanted:
            loop.call_soon_threadsafe(put, forecast)

    unsubscribe = await run_in_threadpool(latest.subscribe, on_forecast)
    try:
        current = await run_in_threadpool(
            lambda: latest.get_many(sorted(wanted) if wanted else latest.symbols())
        )
        yield ServerSentEvent(comment="connected", retry=RETRY_MS)
        for forecast in current.values():
            yield _event(services.render(forecast))
        while True:
            yield _event(services.render(await queue.get()))
    finally:
        unsubscribe()


def _event(body: bytes) -> ServerSentEvent:
    return ServerSentEvent(raw_data=body.decode(), event="forecast")
