"""The shell around the core that every driver shares: decode, step, route to sinks, count.

The embedded runner, the Faust agent and ``tickcast backtest`` all feed messages through
:meth:`Pipeline.process`, so they validate, forecast and dead-letter identically. This is the
one place that decides what a bad message becomes: a dead letter with its reason, never an
exception out of the stream.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from tickcast.codecs import StateMismatchError
from tickcast.config import Settings
from tickcast.monitor.metrics import observe_pipeline, observe_processing
from tickcast.online_model import CoreConfig, StepResult, SymbolState, SymbolStates
from tickcast.online_model.checkpoints import CheckpointPolicy, adopt_learned, restore, take
from tickcast.records import (
    MAX_MESSAGE_BYTES,
    InvalidTickError,
    RejectCode,
    Tick,
    decode_tick,
    parse_tick,
)
from tickcast.stores.registry import BackgroundRegistry
from tickcast.stream_processors.sinks import DeadLetter, Sink

__all__ = ["Pipeline", "checkpoint_policy"]

log = logging.getLogger(__name__)
LOG_EVERY_DEAD_LETTER = 1000  # after the first few, log one in this many
MAX_AHEAD_S = 300.0  # how far ahead of this process's clock a tick's event time may be


class Pipeline:
    """Decode, bound, step, route; optionally checkpoint to (and warm-start from) a registry.

    A symbol's state is, in this order: the one in memory; the one ``recover`` returns (the
    worker's table, as encoded bytes); the registry's champion when ``warm_start`` is on (its
    learned parameters on a fresh data state); a new one. Replays leave warm starts off, so
    they stay deterministic: the same ticks, the same forecasts. ``moves_aliases``: whether
    checkpoints may move the registry aliases that live workers follow.

    Event times are bounded here, at the shell, never in the core: a tick more than
    ``max_ahead_s`` ahead of ``clock`` (epoch seconds) is a dead letter, so a bad clock
    upstream cannot move a symbol's event time into the future.
    """

    def __init__(
        self,
        config: CoreConfig,
        sinks: Sequence[Sink] = (),
        source: str = "ticks",
        *,
        registry: BackgroundRegistry | None = None,
        policy: CheckpointPolicy | None = None,
        warm_start: bool = False,
        recover: Callable[[str], bytes | None] | None = None,
        moves_aliases: bool = False,
        max_ahead_s: float = MAX_AHEAD_S,
        clock: Callable[[], float] = time.time,
        observe_latency: bool = False,
    ) -> None:
        self.config = config
        self.states = SymbolStates(config)
        self.sinks = list(sinks)
        self.source = source
        self.registry = registry
        self.policy = policy or CheckpointPolicy()
        self.warm_start = warm_start
        self.recover = recover
        self.moves_aliases = moves_aliases
        self.max_ahead_ms = int(max_ahead_s * 1000)
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.invalid_reasons: Counter[str] = Counter()  # by RejectCode
        self.invalid_examples: dict[str, str] = {}  # the first full reason per code
        self._observed: dict[str, int] = {}
        self.arrivals: list[float] | None = [] if observe_latency else None
        self._arrived = 0.0

    def process(self, message: Mapping[str, Any] | bytes | str) -> StepResult | None:
        """Validate one raw record or JSON message and advance its symbol; None if rejected."""
        tick = self.decode(message)
        return None if tick is None else self.process_tick(tick)

    def decode(self, message: Mapping[str, Any] | bytes | str) -> Tick | None:
        """The message as a Tick within the time bound, or None after handing it to the
        dead-letter path."""
        self._arrived = time.perf_counter()
        try:
            tick = decode_tick(message) if isinstance(message, bytes | str) else parse_tick(message)
        except InvalidTickError as exc:
            self.reject(message, exc.reason, exc.code)
            return None
        horizon_ms = int(self.clock() * 1000) + self.max_ahead_ms
        if tick.ts > horizon_ms:
            ahead = (tick.ts - horizon_ms) / 1000 + self.max_ahead_s
            self.reject(message, f"ts {tick.ts} is {ahead:.0f} s ahead of this process's clock "
                        f"(at most {self.max_ahead_s:.0f} s)", "ahead_of_clock")  # fmt: skip
            return None
        return tick

    @property
    def max_ahead_s(self) -> float:
        return self.max_ahead_ms / 1000

    def process_tick(self, tick: Tick) -> StepResult:
        state = self.state(tick.symbol)
        result = state.step(tick)
        self.counts[result.status] += 1
        if self.arrivals is not None and result.status == "ok":
            self.arrivals.append(self._arrived)
        for sink in self.sinks:
            sink.add(tick, result)
        if self.registry is not None and result.status == "ok" and self.policy.due(state):
            self.registry.submit(take(state, moves_aliases=self.moves_aliases))
        return result

    def state(self, symbol: str) -> SymbolState:
        """The symbol's state: in memory, else recovered, else warm, else new."""
        states = self.states.states
        state = states.get(symbol)
        if state is None:
            state = self._recovered(symbol)
            if state is None and self.warm_start and self.registry is not None:
                state = self._warm(symbol)
            state = states[symbol] = state or SymbolState(symbol, self.config)
        return state

    def _recovered(self, symbol: str) -> SymbolState | None:
        data = self.recover(symbol) if self.recover else None
        if data is None:
            return None
        try:
            state = restore(data, self.config)
        except StateMismatchError as exc:
            log.warning("%s: the recovered state is not usable (%s); starting it from the "
                        "registry's champion or fresh", symbol, exc.reason)  # fmt: skip
            return None
        log.info("recovered %s at event time %s", symbol, state.last_ts)
        return state

    def _warm(self, symbol: str) -> SymbolState | None:
        """A fresh state that serves what the registry's champion learned."""
        assert self.registry is not None
        found = self.registry.warm_state(symbol)
        if found is None:
            return None
        version, data = found
        try:
            chosen = restore(data, self.config)
        except StateMismatchError as exc:
            log.warning("%s: no warm start from registry version %d: %s; starting fresh",
                        symbol, version, exc.reason)  # fmt: skip
            return None
        state = SymbolState(symbol, self.config)
        adopt_learned(state, chosen)
        log.info("warm start of %s from registry version %d (learned up to event time %s)",
                 symbol, version, chosen.last_ts)  # fmt: skip
        return state

    def adopt_chosen(self) -> list[str]:
        """Serve what versions an operator promoted or rolled back to learned; returns the
        symbols whose state changed. Call it between ticks, on the thread that steps them."""
        if self.registry is None:
            return []
        changed = []
        for adoption in self.registry.take_adoptions():
            live = self.states.states.get(adoption.symbol)
            if live is None:  # not ours: another worker serves it
                continue
            try:
                adopt_learned(live, restore(adoption.state, self.config))
            except StateMismatchError as exc:
                log.error("%s: cannot adopt registry version %d: %s; serving on as before",
                          adoption.symbol, adoption.version, exc.reason)  # fmt: skip
                continue
            log.info("%s now serves the models of registry version %d", adoption.symbol,
                     adoption.version)  # fmt: skip
            changed.append(adoption.symbol)
        return changed

    def checkpoint_all(self) -> None:
        """Checkpoint every symbol that learned since its last checkpoint (at the end of a run)."""
        if self.registry is None:
            return
        for state in self.states.states.values():
            if state.n_labels and state.checkpointed != (state.n_labels, state.last_ts):
                self.registry.submit(take(state, moves_aliases=self.moves_aliases))

    def reject(self, message: Any, reason: str, code: RejectCode) -> None:
        """Count a bad message by its code and hand it, with its full reason, to every sink's
        dead-letter path."""
        self.counts["invalid"] += 1
        self.invalid_reasons[code] += 1
        self.invalid_examples.setdefault(code, reason)
        n = self.counts["invalid"]
        if n <= 10 or n % LOG_EVERY_DEAD_LETTER == 0:
            log.warning("dead letter #%d from %s: %s", n, self.source, reason)
        original = message if isinstance(message, bytes) else b""
        received = int(self.clock() * 1000)
        letter = DeadLetter(received, self.source, reason, _payload_text(message), original, code)
        for sink in self.sinks:
            sink.add_dead_letter(letter)

    def take_arrivals(self) -> list[float]:
        """When the ticks forecast since the last take arrived (perf_counter seconds)."""
        if self.arrivals is None:
            return []
        taken, self.arrivals = self.arrivals, []
        return taken

    def flush(self) -> None:
        """Hand every sink's buffer over for writing (sinks may write in the background)."""
        for sink in self.sinks:
            sink.flush()
        observe_processing(self.take_arrivals())
        self.observe()

    def observe(self) -> None:
        """Bring the Prometheus counters of ticks and dead letters up to date, and read what
        the registry's process said."""
        observe_pipeline(self.counts, self.invalid_reasons, self._observed)
        if self.registry is not None:
            self.registry.poll()

    def drain(self) -> None:
        """Flush, then wait until every output so far is written: the first step of the
        flush order (docs/architecture.md), before state is written and input acknowledged."""
        self.flush()
        for sink in self.sinks:
            sink.drain()


def checkpoint_policy(settings: Settings) -> CheckpointPolicy:
    return CheckpointPolicy(settings.checkpoint_every_labels, settings.checkpoint_every_s)


def _payload_text(message: Any) -> str:
    if isinstance(message, bytes):
        return message[:MAX_MESSAGE_BYTES].decode("utf-8", errors="replace")
    if isinstance(message, str):
        return message[:MAX_MESSAGE_BYTES]
    try:
        return orjson.dumps(message, default=str).decode()[:MAX_MESSAGE_BYTES]
    except TypeError:
        return repr(message)[:MAX_MESSAGE_BYTES]
