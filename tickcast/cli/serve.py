"""``tickcast api``, and the server it shares with ``demo`` and ``worker --serve``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import typer

from tickcast.cli.app import app, err, settings_of
from tickcast.cli.common import announce, log, serve_metrics
from tickcast.cli.options import HostOpt, PortOpt
from tickcast.config import Settings
from tickcast.exceptions import TickcastError

if TYPE_CHECKING:
    from tickcast.api import Limits
    from tickcast.stores import ClickHouseStore, LatestStore


@app.command()
def api(ctx: typer.Context, host: HostOpt = None, port: PortOpt = None) -> None:
    """Serve the REST API over the configured stores (Redis and ClickHouse in production)."""
    from tickcast import bootstrap

    settings = settings_of(ctx, api_host=host, api_port=port)
    stores = bootstrap.open_stores(settings, setup=False, reader=True)  # connects when asked
    announce(
        "api",
        settings,
        api=f"http://{settings.api_host}:{settings.api_port}",
        token="on" if settings.api_token.get_secret_value() else "off",
        metrics=serve_metrics(settings, settings.api_metrics_port),
    )
    if (holder := stores.clickhouse.holder()) is not None:
        log.warning(
            "clickhouse %s is held by process %d: the history routes answer 503 while it runs "
            "(serve the API from it: tickcast worker --serve)",
            settings.clickhouse_url,
            holder,
        )
    asyncio.run(serve(settings, stores.clickhouse, stores.latest))


def limits_of(settings: Settings) -> Limits:
    """The API's limits from settings."""
    from tickcast.api import Limits

    return Limits(
        settings.api_token.get_secret_value(),
        settings.api_max_streams,
        settings.api_stream_idle_s,
    )


def _server(settings: Settings, store: ClickHouseStore, latest: LatestStore) -> Any:
    """A uvicorn server of the API over these stores, without uvicorn's own signal capture
    (its callers stop it: a signal handler of ``serve``, or the worker's stop)."""
    import uvicorn

    from tickcast.api import Services, create_app

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:  # it re-raises the signal after shutdown
            yield

    return Server(
        uvicorn.Config(
            create_app(
                Services(
                    latest,
                    store,
                    settings.mlflow_uri,
                    limits_of(settings),
                    (settings.mlflow_username, settings.mlflow_password.get_secret_value()),
                )
            ),
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            timeout_graceful_shutdown=2,  # live streams never end by themselves
        )
    )


async def serve(settings: Settings, store: ClickHouseStore, latest: LatestStore) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and close the stores."""
    server = _server(settings, store, latest)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    try:
        await server.serve()
    finally:
        store.close()
    err.print("stopped")


def run_watched(server: Any, on_death: Callable[[], None]) -> None:
    """Run ``server``; should it end by itself once it served (not told to exit), say so and
    call ``on_death``: a worker must not go on without the API it was asked to serve."""
    try:
        server.run()
    finally:
        if server.started and not server.should_exit:
            log.critical("the API thread ended unexpectedly: stopping this process")
            on_death()


def _stop_this_process() -> None:
    """SIGTERM to this process: the worker's own graceful stop (its supervisor restarts it)."""
    os.kill(os.getpid(), signal.SIGTERM)


def serve_beside(settings: Settings, store: ClickHouseStore, latest: LatestStore) -> str:
    """Serve the API from a thread of this process, over the stores it already holds, and
    return its address.

    An embedded ClickHouse (chdb) path opens in one process only, so an API in a process of
    its own cannot read the history a worker writes there; beside the worker it reads the
    worker's own connection. The thread has its own event loop, so requests never wait on the
    stream's loop (they share the GIL: expect some of the worker's throughput to go to them).
    """
    server = _server(settings, store, latest)
    thread = threading.Thread(
        target=run_watched, args=(server, _stop_this_process), name="tickcast-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise TickcastError(f"the API could not listen on {settings.api_host}:{settings.api_port}")
    return f"http://{settings.api_host}:{settings.api_port}"
