"""Live push: Server-Sent Events from the Redis publish, and the page's files."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from tests.conftest import free_port
from tests.eventually import eventually, pause
from tests.factories import make_forecast
from tickcast.api import Limits, Services, create_app
from tickcast.api.routes.live import APP
from tickcast.stores import InMemoryLatestStore, LatestStore, RedisLatestStore

pytestmark = pytest.mark.integration
BASE = make_forecast("AAPL", 1_700_000_000_000)


class Served:
    """The API on a free loopback port, in a thread of this process."""

    def __init__(self, store: LatestStore, limits: Limits | None = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(Services(store, None, limits=limits or Limits())),
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        eventually(lambda: self.server.started, 20, "the API's start")
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Listener:
    """An SSE client in a thread: every forecast event with the time it arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received: list[tuple[float, dict[str, object]]] = []
        self.connected = threading.Event()
        self.ended = threading.Event()  # the server ended the stream
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            with httpx.stream("GET", self.url, timeout=None) as response:
                for line in response.iter_lines():
                    if line.startswith("retry:"):
                        self.connected.set()
                    elif line.startswith("data: "):
                        self.received.append((time.monotonic(), orjson.loads(line[6:])))
                    if self.stop:
                        return
            self.ended.set()
        except httpx.RemoteProtocolError:
            if not self.stop:  # the server ending a stream the test was done with is expected
                raise


@pytest.fixture
def redis_store(redis_clean: str) -> Iterator[RedisLatestStore]:
    store = RedisLatestStore(redis_clean)
    yield store
    store.close()


def test_each_new_forecast_reaches_a_stream_client_in_order(
    redis_store: RedisLatestStore,
) -> None:
    writer = RedisLatestStore(redis_store.url)  # the worker's side: another connection
    with Served(redis_store) as base:
        client = Listener(f"{base}/stream")
        assert client.connected.wait(10)
        channel = redis_store.channel
        eventually(  # the API's subscription to the channel is live
            lambda: writer.client.pubsub_numsub(channel)[0][1] > 0, 10, f"a reader of {channel}"
        )
        for i in range(50):
            forecast = replace(BASE, ts=BASE.ts + i * 1000, price=100.0 + i)
            writer.put_many([forecast])
            pause(0.02, "a forecast every 20 ms, as a worker writes them")
        eventually(lambda: len(client.received) >= 50, 5, "50 forecasts on the stream")
        client.stop = True
    assert [event["price"] for _, event in client.received] == [100.0 + i for i in range(50)]
    # how soon (the 100 ms target) is bench/stream_push.py's figure, not this test's


def test_a_stream_starts_with_the_latest_and_keeps_to_its_symbols() -> None:
    store = InMemoryLatestStore()
    store.put_many([BASE, replace(BASE, symbol="MSFT")])
    with Served(store) as base:
        client = Listener(f"{base}/stream?symbols=MSFT")
        assert client.connected.wait(10)
        eventually(lambda: client.received, 5, "the stream's first event")
        store.put_many(
            [replace(BASE, ts=BASE.ts + 1000), replace(BASE, symbol="MSFT", ts=BASE.ts + 1000)]
        )
        eventually(lambda: len(client.received) >= 2, 5, "the stream's second event")
        client.stop = True
        bad = httpx.get(f"{base}/stream?symbols=no%20way")
        page = httpx.get(f"{base}/")
        static = httpx.get(f"{base}/static/index.html")
        script = httpx.get(f"{base}/static/app.js")
    assert [(e["symbol"], e["ts"]) for _, e in client.received] == [
        ("MSFT", "2023-11-14T22:13:20Z"),
        ("MSFT", "2023-11-14T22:13:21Z"),
    ]
    assert bad.status_code == 422
    assert page.status_code == 200
    built = APP.joinpath("index.html").is_file()  # `make` builds frontend/ into it
    assert ('id="root"' if built else '<script src="/static/app.js">') in page.text
    assert '<script src="/static/app.js">' in static.text  # the static page, there either way
    assert script.status_code == 200
    assert "EventSource" in script.text


class SlowStore(InMemoryLatestStore):
    """A latest store that cannot fill the API's copy and whose reads wait until released (a
    Redis far away): every read goes to the store, so none may run on the event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.Event()  # a read is under way
        self.release = threading.Event()

    def get_many(self, symbols: Any) -> Any:
        raise ConnectionError("unreachable")

    def get(self, symbol: str) -> Any:
        self.reading.set()
        self.release.wait(10)
        return super().get(symbol)


def test_a_slow_store_read_never_holds_up_other_requests() -> None:
    store = SlowStore()
    store.put_many([BASE])
    with Served(store) as base:
        slow = threading.Thread(
            target=httpx.get, args=(f"{base}/forecasts/AAPL",), kwargs={"timeout": 15}
        )
        slow.start()
        assert store.reading.wait(10)  # the slow read is under way, and stays so
        try:
            health = httpx.get(f"{base}/health", timeout=5)
            answered_while_reading = not store.release.is_set()
        finally:
            store.release.set()
        slow.join()
    assert health.status_code == 200
    assert answered_while_reading  # /health did not wait behind the store's read


def test_streams_are_capped_and_one_with_nothing_to_send_ends() -> None:
    """Every open stream holds a connection and a task: past the cap a client hears 503 with
    when to come back; a stream idle for its limit ends (the browser opens a new one), and
    its place is free again."""
    store = InMemoryLatestStore()
    store.put_many([BASE])
    with Served(store, Limits(max_streams=2, stream_idle_s=1.5)) as base:
        first, second = Listener(f"{base}/stream"), Listener(f"{base}/stream")
        assert first.connected.wait(10)
        assert second.connected.wait(10)
        refused = httpx.get(f"{base}/stream", timeout=10)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert "streams are open" in refused.json()["detail"]
        assert first.ended.wait(10)  # idle: it ended by itself
        third = Listener(f"{base}/stream")
        assert third.connected.wait(10)  # a place came free
        third.stop = True


def test_lists_come_a_page_at_a_time() -> None:
    store = InMemoryLatestStore()
    symbols = [f"S{i:04d}" for i in range(2500)]
    store.put_many([replace(BASE, symbol=symbol) for symbol in symbols])
    with Served(store) as base:
        assert httpx.get(f"{base}/symbols").json() == symbols[:1000]
        page = httpx.get(f"{base}/symbols?limit=1000&offset=2000").json()
        assert page == symbols[2000:]
        latest = httpx.get(f"{base}/forecasts/latest?limit=10&offset=5").json()
        assert [f["symbol"] for f in latest["forecasts"]] == symbols[5:15]
        assert httpx.get(f"{base}/symbols?limit=100000").status_code == 422
