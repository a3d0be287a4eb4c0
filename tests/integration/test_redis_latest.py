"""The Redis latest store against a real redis-server."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tickcast.records import Forecast, forecast_from_json
from tickcast.stores import RedisLatestStore
from tickcast.stores.latest import CHANNEL

pytestmark = pytest.mark.integration


def forecast(symbol: str, ts: int) -> Forecast:
    return Forecast(symbol, ts, 1, "champion", "v1", "linear", 10.0, 0.01, 10.1, 9.0, 11.0, 0.55)


def test_latest_forecast_per_symbol_overwrites_the_older(redis_clean: str) -> None:
    store = RedisLatestStore(redis_clean)
    store.put_many([forecast("AAPL", 1), forecast("MSFT", 1)])
    store.put_many([forecast("AAPL", 2)])
    assert store.get("AAPL") == forecast("AAPL", 2)
    assert store.get("NOPE") is None
    assert store.symbols() == ["AAPL", "MSFT"]
    assert store.get_many(["MSFT", "NOPE"]) == {"MSFT": forecast("MSFT", 1)}
    assert store.ping()


def test_each_write_is_published_for_live_push(redis_clean: str) -> None:
    listener = redis.Redis.from_url(redis_clean).pubsub()
    listener.subscribe(CHANNEL)
    received: list[Forecast] = []

    def listen() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(received) < 2:
            message = listener.get_message(timeout=0.1)
            if message and message["type"] == "message":
                received.append(forecast_from_json(message["data"]))

    thread = threading.Thread(target=listen)
    thread.start()
    time.sleep(0.2)
    RedisLatestStore(redis_clean).put_many([forecast("AAPL", 5), forecast("KO", 5)])
    thread.join()
    assert received == [forecast("AAPL", 5), forecast("KO", 5)]


def test_unreachable_redis_is_not_ready() -> None:
    assert not RedisLatestStore("redis://127.0.0.1:9/0").ping()


def test_the_api_cache_reads_memory_fed_by_the_publish(redis_clean: str) -> None:
    from dataclasses import replace

    from tickcast.api.cache import LatestCache
    from tickcast.records import dumps

    writer = RedisLatestStore(redis_clean)
    first = forecast("AAPL", 1_700_000_000_000)
    writer.put_many([first])
    store = RedisLatestStore(redis_clean)
    cache = LatestCache(store)
    assert cache.get("AAPL") == first  # filled from Redis
    second = replace(first, ts=first.ts + 1000)
    writer.put_many([second])  # written and published
    deadline = time.monotonic() + 5
    while cache.get("AAPL") != second and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get("AAPL") == second
    unpublished = replace(first, ts=first.ts + 2000)
    writer.client.hset(writer.key, "AAPL", dumps(unpublished))  # behind the feed's back
    assert cache.get("AAPL") == second  # memory, not a round trip
    assert store.get("AAPL") == unpublished
    store.close()
