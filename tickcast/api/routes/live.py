"""The live page (GET /) and its Server-Sent Events (GET /stream).

``/stream`` sends the latest forecast of every (or each requested) symbol at once, then each
new one as the latest store announces it: the Redis publish with a Redis store, the writer's
own call in the embedded demo. A slow client loses old events, never the newest one.
FastAPI's own Server-Sent Events support writes the events and the keep-alive pings. Streams
are bounded: at most ``Limits.max_streams`` at once (then a 503 with Retry-After), and one
with nothing to send for ``Limits.stream_idle_s`` ends (the browser opens a new one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from tickcast.api.deps import UNAVAILABLE, Latest, ServicesDep
from tickcast.api.routes.forecasts import wanted_symbols
from tickcast.records import Forecast

router = APIRouter(tags=["live"])
QUEUE_SIZE = 1000
RETRY_MS = 2000  # how soon a browser reconnects after the server went away
RETRY_AFTER_S = 5  # how soon to come back when every stream is taken


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


async def stream_slot(request: Request, services: ServicesDep) -> AsyncIterator[None]:
    """One of the streams open at once, held while the stream lasts; a 503 when all are
    taken."""
    state = request.app.state
    open_now = getattr(state, "streams", 0)
    if open_now >= services.limits.max_streams:
        raise HTTPException(
            503,
            f"{open_now} streams are open, the most this API serves: try again later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    state.streams = open_now + 1
    try:
        yield
    finally:
        state.streams -= 1


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses=UNAVAILABLE,
    dependencies=[Depends(stream_slot)],
)
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
        idle_s = services.limits.stream_idle_s
        while True:
            try:
                forecast = await asyncio.wait_for(queue.get(), idle_s)
            except TimeoutError:  # nothing to send for long: free the slot
                return
            yield _event(services.render(forecast))
    finally:
        unsubscribe()


def _event(body: bytes) -> ServerSentEvent:
    return ServerSentEvent(raw_data=body.decode(), event="forecast")
