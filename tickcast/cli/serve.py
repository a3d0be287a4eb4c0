"""``tickcast api``, and the server it shares with ``demo``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import typer

from tickcast.cli.app import app, err, settings_of
from tickcast.cli.common import announce
from tickcast.cli.options import HostOpt, PortOpt
from tickcast.config import Settings

if TYPE_CHECKING:
    from tickcast.stores import ClickHouseStore, LatestStore


@app.command()
def api(ctx: typer.Context, host: HostOpt = None, port: PortOpt = None) -> None:
    """Serve the REST API over the configured stores (Redis and ClickHouse in production)."""
    from tickcast import bootstrap

    settings = settings_of(ctx, api_host=host, api_port=port)
    stores = bootstrap.open_stores(settings, setup=False)  # ClickHouse connects when asked
    announce("api", settings, api=f"http://{settings.api_host}:{settings.api_port}")
    asyncio.run(serve(settings, stores.clickhouse, stores.latest))


async def serve(settings: Settings, store: ClickHouseStore, latest: LatestStore) -> None:
    """Serve until SIGINT or SIGTERM, then shut down gracefully and close the stores."""
    import uvicorn

    from tickcast.api import Services, create_app

    class Server(uvicorn.Server):
        """Without uvicorn's own signal capture (which re-raises after shutdown)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    server = Server(
        uvicorn.Config(
            create_app(Services(latest, store, mlflow_uri=settings.mlflow_uri)),
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            timeout_graceful_shutdown=2,  # live streams never end by themselves
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    try:
        await server.serve()
    finally:
        store.close()
    err.print("stopped")
