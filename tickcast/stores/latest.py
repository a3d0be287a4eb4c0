"""The latest served forecast per symbol: in-process by default, Redis when configured.

Redis layout: one hash ``tickcast:latest`` (field = symbol, value = the forecast's JSON) and a
publish of the same JSON on ``tickcast:forecasts`` for live push. Writes are pipelined: one
round trip per flush, whatever the number of symbols.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from tickcast.records import Forecast, dumps, forecast_from_json

__all__ = ["InMemoryLatestStore", "LatestStore", "RedisLatestStore", "open_latest_store"]

log = logging.getLogger(__name__)

LATEST_KEY = "tickcast:latest"
CHANNEL = "tickcast:forecasts"


class LatestStore(Protocol):
    def put_many(self, forecasts: Iterable[Forecast]) -> None: ...
    def get(self, symbol: str) -> Forecast | None: ...
    def get_many(self, symbols: Iterable[str]) -> dict[str, Forecast]: ...
    def symbols(self) -> list[str]: ...
    def ping(self) -> bool: ...
    def subscribe(
        self, listener: Listener, on_gap: Callable[[], None] | None = None
    ) -> Callable[[], None]: ...


Listener = Callable[[Forecast], None]


class Listeners:
    """Who wants each new forecast (live push); ``add`` returns the way to leave."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def add(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def __bool__(self) -> bool:
        return bool(self._listeners)

    def notify(self, forecast: Forecast) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(forecast)
            except Exception:  # one broken listener must not stop the others or the writer
                log.exception("a forecast listener failed")


class InMemoryLatestStore:
    """A dict in this process: for the embedded pipeline and tests."""

    def __init__(self) -> None:
        self._latest: dict[str, Forecast] = {}
        self._listeners = Listeners()

    def put_many(self, forecasts: Iterable[Forecast]) -> None:
        for forecast in forecasts:
            self._latest[forecast.symbol] = forecast
            if self._listeners:
                self._listeners.notify(forecast)

    def subscribe(
        self, listener: Listener, on_gap: Callable[[], None] | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` with every forecast written from now on (no gaps in-process)."""
        return self._listeners.add(listener)

    def get(self, symbol: str) -> Forecast | None:
        return self._latest.get(symbol)

    def get_many(self, symbols: Iterable[str]) -> dict[str, Forecast]:
        return {s: self._latest[s] for s in symbols if s in self._latest}

    def symbols(self) -> list[str]:
        return sorted(self._latest)

    def ping(self) -> bool:
        return True


class RedisLatestStore:
    """Redis as the source of truth for the latest forecasts (``redis://host:port/db``)."""

    def __init__(self, url: str, key: str = LATEST_KEY, channel: str = CHANNEL) -> None:
        import redis

        self.url = url
        self.key = key
        self.channel = channel
        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._listeners = Listeners()
        self._gap_listeners: list[Callable[[], None]] = []
        self._pubsub_thread: Any = None

    def put_many(self, forecasts: Iterable[Forecast]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for forecast in forecasts:
            payload = dumps(forecast)
            pipe.hset(self.key, forecast.symbol, payload)
            pipe.publish(self.channel, payload)
        pipe.execute()

    def get(self, symbol: str) -> Forecast | None:
        raw = self.client.hget(self.key, symbol)
        return forecast_from_json(raw) if raw else None

    def get_many(self, symbols: Iterable[str]) -> dict[str, Forecast]:
        wanted = list(symbols)
        if not wanted:
            return {}
        values = self.client.hmget(self.key, wanted)
        return {s: forecast_from_json(v) for s, v in zip(wanted, values, strict=True) if v}

    def symbols(self) -> list[str]:
        return sorted(k.decode() for k in self.client.hkeys(self.key))

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # readiness: any failure means not ready
            return False

    def subscribe(
        self, listener: Listener, on_gap: Callable[[], None] | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` with every forecast published on the channel from now on (one
        subscriber thread per store, started by the first listener); ``on_gap`` hears when
        the connection broke, so messages may have been missed."""
        remove = self._listeners.add(listener)
        if on_gap is not None:
            self._gap_listeners.append(on_gap)
        if self._pubsub_thread is None:
            import redis

            pubsub = redis.Redis.from_url(self.url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(**{self.channel: self._on_message})
            self._pubsub_thread = pubsub.run_in_thread(
                sleep_time=1.0, daemon=True, exception_handler=self._on_error
            )
        return remove

    def _on_error(self, exc: BaseException, pubsub: Any, thread: Any) -> None:
        """Redis went away: tell who keeps copies, wait, and let the thread reconnect."""
        log.warning("forecast channel: %s; reconnecting", exc)
        for on_gap in list(self._gap_listeners):
            on_gap()
        time.sleep(1.0)

    def _on_message(self, message: dict[str, Any]) -> None:
        self._listeners.notify(forecast_from_json(message["data"]))

    def close(self) -> None:
        if self._pubsub_thread is not None:
            self._pubsub_thread.stop()
            self._pubsub_thread = None


def open_latest_store(redis_url: str) -> LatestStore:
    """Redis when a URL is given, the in-process store otherwise."""
    if redis_url:
        return RedisLatestStore(redis_url)
    return InMemoryLatestStore()
