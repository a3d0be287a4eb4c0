"""The API's copy of the latest forecasts, kept fresh by the store's publish.

A round trip to Redis per request capped the API at about 60 % of a bare endpoint's rate.
Reads come from this process's memory instead, while the store stays the source of truth: the
copy is filled from the store, updated by every publish, and used only while that feed is
connected. When the feed breaks (Redis restarting), reads go to the store (and fail as a 503
with the reason while it is down) until the first publish after the break refills the copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from tickcast.records import Forecast
from tickcast.stores import LatestStore

__all__ = ["LatestCache"]


class LatestCache:
    """A LatestStore that reads from memory and writes through to ``store``."""

    def __init__(self, store: LatestStore) -> None:
        self.store = store
        self._values: dict[str, Forecast] = {}
        self._rendered: dict[str, bytes] = {}  # symbol -> its ForecastOut JSON, made once
        self._live = False
        self._started = False
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self.store.subscribe(self._on_forecast, on_gap=self._on_gap)
        self._refill()

    def _refill(self) -> None:
        try:
            values = self.store.get_many(self.store.symbols())
        except Exception:  # the store is down: reads keep going to it, and say so
            return
        with self._lock:
            self._values = values
            self._rendered = {}
            self._live = True

    def _on_forecast(self, forecast: Forecast) -> None:
        if not self._live:  # the first message after a break: the feed is back
            self._refill()
        with self._lock:
            self._values[forecast.symbol] = forecast
            self._rendered.pop(forecast.symbol, None)

    def _on_gap(self) -> None:
        self._live = False

    def _reading_memory(self) -> bool:
        if not self._started:
            self._start()
        return self._live

    def get(self, symbol: str) -> Forecast | None:
        if self._reading_memory():
            return self._values.get(symbol)
        return self.store.get(symbol)

    def rendered(self, symbol: str, render: Callable[[Forecast], bytes]) -> bytes | None:
        """The symbol's latest forecast as the API sends it, rendered once per update (the
        model serialisation was a third of the request's cost)."""
        if not self._reading_memory():
            forecast = self.store.get(symbol)
            return None if forecast is None else render(forecast)
        body = self._rendered.get(symbol)
        if body is None:
            forecast = self._values.get(symbol)
            if forecast is None:
                return None
            body = self._rendered[symbol] = render(forecast)
        return body

    def get_many(self, symbols: Iterable[str]) -> dict[str, Forecast]:
        if self._reading_memory():
            values = self._values
            return {s: values[s] for s in symbols if s in values}
        return self.store.get_many(symbols)

    def symbols(self) -> list[str]:
        if self._reading_memory():
            return sorted(self._values)
        return self.store.symbols()

    def put_many(self, forecasts: Iterable[Forecast]) -> None:
        self.store.put_many(forecasts)

    def ping(self) -> bool:
        return self.store.ping()

    def subscribe(
        self, listener: Callable[[Forecast], None], on_gap: Callable[[], None] | None = None
    ) -> Callable[[], None]:
        return self.store.subscribe(listener, on_gap)
