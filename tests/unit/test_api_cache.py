"""The API's copy of the latest forecasts only moves forward, like the store it copies."""

from __future__ import annotations

from tests.factories import make_forecast
from tickcast.api.cache import LatestCache
from tickcast.stores import InMemoryLatestStore


def test_a_late_message_never_replaces_a_newer_forecast() -> None:
    cache = LatestCache(InMemoryLatestStore())
    cache.start()
    newer, older = make_forecast("AAPL", 2_000), make_forecast("AAPL", 1_000)
    cache._on_forecast(newer)
    cache._on_forecast(older)  # e.g. a slow worker's publish after a rebalance
    assert cache.get("AAPL") == newer
    cache._on_forecast(make_forecast("AAPL", 2_000, seq=1))
    assert cache.get("AAPL") == make_forecast("AAPL", 2_000, seq=1)
