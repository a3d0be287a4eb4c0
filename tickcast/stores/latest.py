"""The latest served forecast per symbol: in-process by default, Redis when configured.

The store only moves forward: a forecast replaces the stored one only when its event-time
position (ts, seq) is newer, so a re-delivered or out-of-order batch never takes a symbol back.

Redis layout, under a key prefix (``tickcast:`` by default): the hash ``<prefix>latest`` (field =
symbol, value = the forecast's JSON), the hash ``<prefix>latest_pos`` (its "ts seq" position),
and a publish of each forecast that moved forward on ``<prefix>db<N>:forecasts`` for live push.
Pub/sub channels are shared by every database of a server, so the channel names the prefix and
the database: two stores on one server never hear each other. One script call per flush checks
and writes every symbol atomically: one round trip, whatever the number of symbols.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from tickcast.messages import dumps, forecast_from_json
from tickcast.records import Forecast

__all__ = [
    "InMemoryLatestStore",
    "LatestStore",
    "RedisLatestStore",
    "newer",
    "open_latest_store",
]

log = logging.getLogger(__name__)

PREFIX = "tickcast:"
RECONNECT_LOG_EVERY = 60  # failed reconnections (one a second) between two warnings
SUBSCRIBE_WAIT_S = 5.0  # Redis confirms a subscription in a round trip
# KEYS: the latest hash, the positions hash; ARGV: the channel, then symbol, ts, seq, payload
# for each forecast. Writes and publishes the forecasts newer than the stored ones.
MOVE_FORWARD = """
local written = 0
for i = 2, #ARGV, 4 do
  local symbol, ts, seq = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local newer = true
  local old = redis.call('HGET', KEYS[2], symbol)
  if old then
    local old_ts, old_seq = string.match(old, '^(%-?%d+) (%d+)$')
    old_ts, old_seq = tonumber(old_ts), tonumber(old_seq)
    if old_ts and old_seq then  -- a position that is no number is replaced, never obeyed
      newer = ts > old_ts or (ts == old_ts and seq > old_seq)
    end
  end
  if newer then
    redis.call('HSET', KEYS[1], symbol, ARGV[i + 3])
    redis.call('HSET', KEYS[2], symbol, ARGV[i + 1] .. ' ' .. ARGV[i + 2])
    redis.call('PUBLISH', ARGV[1], ARGV[i + 3])
    written = written + 1
  end
end
return written
"""


def newer(forecast: Forecast, than: Forecast | None) -> bool:
    """Whether ``forecast`` is later in event time than ``than`` (or there is none)."""
    return than is None or (forecast.ts, forecast.seq) > (than.ts, than.seq)


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
            if newer(forecast, self._latest.get(forecast.symbol)):
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
    """Redis as the source of truth for the latest forecasts (``redis://host:port/db``), as an
    ACL user when ``username`` is given (the writer: the worker; a reader: the API)."""

    blocking = True  # a write is a network round trip: writers keep it off the event loop

    def __init__(
        self, url: str, prefix: str = PREFIX, username: str = "", password: str = ""
    ) -> None:
        import redis

        self.url = url
        self.username, self.password = username or None, password or None
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
            username=self.username,
            password=self.password,
        )
        db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.key = f"{prefix}latest"
        self.positions = f"{prefix}latest_pos"
        self.channel = f"{prefix}db{db}:forecasts"
        self._move_forward = self.client.register_script(MOVE_FORWARD)
        self._listeners = Listeners()
        self._gap_listeners: list[Callable[[], None]] = []
        self._pubsub_thread: Any = None
        self._pubsub_client: Any = None
        self._channel_failures = 0  # reconnection attempts since the channel last worked

    def put_many(self, forecasts: Iterable[Forecast]) -> None:
        """Write (and publish) each forecast that is newer than the stored one, atomically."""
        args: list[Any] = [self.channel]
        for forecast in forecasts:
            args += [forecast.symbol, forecast.ts, forecast.seq, dumps(forecast)]
        if len(args) > 1:
            self._move_forward(keys=[self.key, self.positions], args=args)

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
        subscriber thread per store, started by the first listener, once Redis confirmed the
        subscription: what is published after this returns is heard); ``on_gap`` hears when
        the connection broke, so messages may have been missed."""
        if self._pubsub_thread is None:  # connects: raises while Redis is down
            import redis

            # kept: a client collected as garbage closes its pool, the subscription's too
            self._pubsub_client = redis.Redis.from_url(
                self.url, username=self.username, password=self.password
            )
            pubsub = self._pubsub_client.pubsub()
            pubsub.subscribe(**{self.channel: self._on_message})
            deadline = time.monotonic() + SUBSCRIBE_WAIT_S
            while time.monotonic() < deadline:  # the confirmation: the subscription is live
                reply = pubsub.get_message(timeout=deadline - time.monotonic())
                if reply is not None and reply["type"] == "subscribe":
                    break
            pubsub.ignore_subscribe_messages = True  # the thread's: a reconnection's again
            self._pubsub_thread = pubsub.run_in_thread(
                sleep_time=1.0, daemon=True, exception_handler=self._on_error
            )
        if on_gap is not None:
            self._gap_listeners.append(on_gap)
        return self._listeners.add(listener)

    def _on_error(self, exc: BaseException, pubsub: Any, thread: Any) -> None:
        """Redis went away: tell who keeps copies, wait, and let the thread reconnect (logged
        at the first failure and once a minute while it lasts, not every second)."""
        if self._channel_failures % RECONNECT_LOG_EVERY == 0:
            log.warning(
                "forecast channel: %s; reconnecting (%d failed attempts so far)",
                exc,
                self._channel_failures + 1,
            )
        self._channel_failures += 1
        for on_gap in list(self._gap_listeners):
            on_gap()
        time.sleep(1.0)

    def _on_message(self, message: dict[str, Any]) -> None:
        self._channel_failures = 0
        self._listeners.notify(forecast_from_json(message["data"]))

    def close(self) -> None:
        if self._pubsub_thread is not None:
            self._pubsub_thread.stop()
            self._pubsub_thread = None


def open_latest_store(
    redis_url: str, prefix: str = PREFIX, username: str = "", password: str = ""
) -> LatestStore:
    """Redis when a URL is given (as ``username`` when given), the in-process store otherwise."""
    if redis_url:
        return RedisLatestStore(redis_url, prefix, username, password)
    return InMemoryLatestStore()
