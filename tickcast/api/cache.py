"""The API's copy of the latest forecasts, kept fresh by the store's publish.

A round trip to Redis per request capped the API at about 60 % of a bare endpoint's rate.
Reads come from this process's memory instead, while the store stays the source of truth: the
copy is filled from the store, updated by every publish, and used only while that feed is
connected. When the feed breaks (Redis restarting), reads go to the store (and fail as a 503
with the reason while it is down) until the first publish after the break refills the copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from tickcast.records import Forecast
from tickcast.stores import LatestStore
from tickcast.stores.latest import newer

__all__ = ["LatestCache"]

log = logging.getLogger(__name__)


class LatestCache:
    """A LatestStore that reads from memory and writes through to ``store``."""

    def __init__(self, store: LatestStore) -> None:
        self.store = store
        self._values: dict[str, Forecast] = {}
        self._rendered: dict[str, bytes] = {}  # symbol -> its ForecastOut JSON, made once
        self._live = False
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Subscribe to the store's publish and fill the copy (blocking I/O: the app runs it
        on a worker thread at startup, and again from reads while the store was down then)."""
        with self._lock:
            if self._started:
                return
            try:
                self.store.subscribe(self._on_forecast, on_gap=self._on_gap)
            except Exception as exc:  # the store is down: reads go to it (503) and retry this
                log.warning("latest store feed not connected yet: %s", exc)
                return
            self._started = True
        self._refill()

    @property
    def live(self) -> bool:
        """Whether reads come from memory (the feed is connected and the copy filled)."""
        return self._live

    def _refill(self) -> None:
        try:
            values = self.store.get_many(self.store.symbols())
        except Exception:  # the store is down: reads keep going to it, and say so
            return
        with self._lock:  # a message that came in meanwhile may be newer than the snapshot
            for symbol, forecast in values.items():
                if newer(forecast, self._values.get(symbol)):
                    self._values[symbol] = forecast
                    self._rendered.pop(symbol, None)
            self._live = True

    def _on_forecast(self, forecast: Forecast) -> None:
        if not self._live:  # the first message after a break: the feed is back (this runs
            self._refill()  # on the store's subscriber thread, never on the event loop)
        with self._lock:  # only forward: a late message never replaces a newer forecast
            if newer(forecast, self._values.get(forecast.symbol)):
                self._values[forecast.symbol] = forecast
                self._rendered.pop(forecast.symbol, None)

    def _on_gap(self) -> None:
        self._live = False

    def get(self, symbol: str) -> Forecast | None:
        if self._live:
            return self._values.get(symbol)
        return self.store.get(symbol)

    def rendered_from_memory(
        self, symbol: str, render: Callable[[Forecast], bytes]
    ) -> bytes | None:
        """The symbol's latest forecast as the API sends it, rendered once per update (the
        model serialisation was a third of the request's cost); None when unknown or while
        the copy is not live. No I/O: safe on the event loop."""
        if not self._live:
            return None
        body = self._rendered.get(symbol)
        if body is None:
            forecast = self._values.get(symbol)
            if forecast is None:
                return None
            body = self._rendered[symbol] = render(forecast)
        return body

    def rendered(self, symbol: str, render: Callable[[Forecast], bytes]) -> bytes | None:
        """The same, read from the store (blocking: for a worker thread)."""
        self.start()
        forecast = self.store.get(symbol)
        return None if forecast is None else render(forecast)

    def get_many(self, symbols: Iterable[str]) -> dict[str, Forecast]:
        if self._live:
            values = self._values
            return {s: values[s] for s in symbols if s in values}
        return self.store.get_many(symbols)

    def symbols(self) -> list[str]:
        if self._live:
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
