"""The Redis latest store against a real redis-server."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.eventually import eventually
from tests.factories import make_forecast
from tickcast.messages import forecast_from_json
from tickcast.records import Forecast
from tickcast.stores import RedisLatestStore

pytestmark = pytest.mark.integration


def forecast(symbol: str, ts: int) -> Forecast:
    return make_forecast(
        symbol, ts, price=10.0, predicted_return=0.01, predicted_price=10.1, lower=9.0, upper=11.0
    )


def test_latest_forecast_per_symbol_overwrites_the_older(redis_clean: str) -> None:
    store = RedisLatestStore(redis_clean)
    store.put_many([forecast("AAPL", 1), forecast("MSFT", 1)])
    store.put_many([forecast("AAPL", 2)])
    assert store.get("AAPL") == forecast("AAPL", 2)
    assert store.get("NOPE") is None
    assert store.symbols() == ["AAPL", "MSFT"]
    assert store.get_many(["MSFT", "NOPE"]) == {"MSFT": forecast("MSFT", 1)}
    assert store.ping()


def collect(url: str, channel: str, seconds: float) -> tuple[threading.Thread, list[Forecast]]:
    """Forecasts published on ``channel`` for ``seconds``, collected in a thread."""
    listener = redis.Redis.from_url(url).pubsub()
    listener.subscribe(channel)

    def confirmed() -> bool:
        message = listener.get_message(timeout=0.1)
        return message is not None and message["type"] == "subscribe"

    eventually(confirmed, 5, f"the subscription to {channel}")
    received: list[Forecast] = []

    def listen() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = listener.get_message(timeout=0.1)
            if message and message["type"] == "message":
                received.append(forecast_from_json(message["data"]))
        listener.close()

    thread = threading.Thread(target=listen)
    thread.start()
    return thread, received


def test_each_write_is_published_for_live_push(redis_clean: str) -> None:
    store = RedisLatestStore(redis_clean)
    thread, received = collect(redis_clean, store.channel, 1.5)
    store.put_many([forecast("AAPL", 5), forecast("KO", 5)])
    thread.join()
    assert received == [forecast("AAPL", 5), forecast("KO", 5)]


def test_the_latest_only_moves_forward_and_only_news_is_published(redis_clean: str) -> None:
    store = RedisLatestStore(redis_clean)
    thread, received = collect(redis_clean, store.channel, 1.5)
    store.put_many([forecast("AAPL", 5)])
    store.put_many([forecast("AAPL", 3), forecast("AAPL", 5)])  # older, then the same again
    store.put_many([make_forecast("AAPL", 5, seq=1, price=10.5)])  # same ms, the next tick
    thread.join()
    assert store.get("AAPL") == make_forecast("AAPL", 5, seq=1, price=10.5)
    assert [(f.ts, f.seq) for f in received] == [(5, 0), (5, 1)]


def test_a_stored_position_that_is_no_number_never_stops_later_writes(redis_clean: str) -> None:
    store = RedisLatestStore(redis_clean)
    store.put_many([forecast("AAPL", 5)])
    redis.Redis.from_url(redis_clean).hset(store.positions, "AAPL", "garbage")  # hostile
    store.put_many([forecast("AAPL", 6), forecast("MSFT", 1)])
    store.put_many([forecast("AAPL", 7)])
    assert store.get("AAPL") == forecast("AAPL", 7)
    assert store.get("MSFT") == forecast("MSFT", 1)


def test_two_stores_on_one_server_never_hear_each_other(redis_clean: str) -> None:
    """Pub/sub channels span every database of a server: the channel names the database."""
    other_db = redis_clean.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(other_db).flushdb()
    mine, theirs = RedisLatestStore(redis_clean), RedisLatestStore(other_db)
    assert mine.channel != theirs.channel
    thread, received = collect(redis_clean, mine.channel, 1.5)
    theirs.put_many([forecast("AAPL", 9)])
    thread.join()
    assert received == []
    assert mine.get("AAPL") is None
    prefixed = RedisLatestStore(redis_clean, prefix="staging:")
    assert prefixed.channel != mine.channel
    assert prefixed.key != mine.key


def test_unreachable_redis_is_not_ready() -> None:
    assert not RedisLatestStore("redis://127.0.0.1:9/0").ping()


def test_the_api_cache_reads_memory_fed_by_the_publish(redis_clean: str) -> None:
    from dataclasses import replace

    from tickcast.api.cache import LatestCache
    from tickcast.messages import dumps

    writer = RedisLatestStore(redis_clean)
    first = forecast("AAPL", 1_700_000_000_000)
    writer.put_many([first])
    store = RedisLatestStore(redis_clean)
    cache = LatestCache(store)
    cache.start()  # as the app does at startup
    assert cache.live
    assert cache.get("AAPL") == first  # filled from Redis
    second = replace(first, ts=first.ts + 1000)
    writer.put_many([second])  # written and published
    eventually(lambda: cache.get("AAPL") == second, 5, "the published forecast in the cache")
    unpublished = replace(first, ts=first.ts + 2000)
    writer.client.hset(writer.key, "AAPL", dumps(unpublished))  # behind the feed's back
    assert cache.get("AAPL") == second  # memory, not a round trip
    assert store.get("AAPL") == unpublished
    store.close()
