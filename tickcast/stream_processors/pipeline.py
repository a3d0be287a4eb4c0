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

from tickcast.config import Settings
from tickcast.exceptions import ConfigError
from tickcast.monitor.metrics import observe_pipeline
from tickcast.online_model import CoreConfig, StepResult, SymbolState, SymbolStates
from tickcast.online_model.checkpoints import (
    CheckpointPolicy,
    adopt_models,
    check_models,
    take,
)
from tickcast.records import MAX_MESSAGE_BYTES, InvalidTickError, Tick, decode_tick, parse_tick
from tickcast.stores.registry import BackgroundRegistry
from tickcast.stream_processors.sinks import DeadLetter, Sink

__all__ = ["Pipeline", "checkpoint_policy"]

log = logging.getLogger(__name__)
LOG_EVERY_DEAD_LETTER = 1000  # after the first few, log one in this many


class Pipeline:
    """Decode, step, route; optionally checkpoint to (and warm-start from) a model registry.

    ``recover`` looks a symbol's state up before a new one is made (the worker's table);
    ``warm_start`` then tries the registry's champion. Replays leave it off, so they stay
    deterministic: the same ticks, the same forecasts.
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
        recover: Callable[[str], SymbolState | None] | None = None,
    ) -> None:
        self.config = config
        self.states = SymbolStates(config)
        self.sinks = list(sinks)
        self.source = source
        self.registry = registry
        self.policy = policy or CheckpointPolicy()
        self.warm_start = warm_start
        self.recover = recover
        self.counts: Counter[str] = Counter()
        self.invalid_reasons: Counter[str] = Counter()
        self._observed: dict[str, int] = {}

    def process(self, message: Mapping[str, Any] | bytes | str) -> StepResult | None:
        """Validate one raw record or JSON message and advance its symbol; None if rejected."""
        tick = self.decode(message)
        return None if tick is None else self.process_tick(tick)

    def decode(self, message: Mapping[str, Any] | bytes | str) -> Tick | None:
        """The message as a Tick, or None after handing it to the dead-letter path."""
        try:
            return decode_tick(message) if isinstance(message, bytes | str) else parse_tick(message)
        except InvalidTickError as exc:
            self.reject(message, exc.reason)
            return None

    def process_tick(self, tick: Tick) -> StepResult:
        state = self.state(tick.symbol)
        result = state.step(tick)
        self.counts[result.status] += 1
        for sink in self.sinks:
            sink.add(tick, result)
        if self.registry is not None and result.status == "ok" and self.policy.due(state):
            self.registry.submit(take(state))
        return result

    def state(self, symbol: str) -> SymbolState:
        """The symbol's state: in memory, else recovered, else the registry's champion (when
        warm starts are on), else new."""
        states = self.states.states
        state = states.get(symbol)
        if state is None:
            state = self.recover(symbol) if self.recover else None
            if state is None and self.warm_start and self.registry is not None:
                state = self._warm(symbol)
            states[symbol] = state or SymbolState(symbol, self.config)
            state = states[symbol]
        return state

    def _warm(self, symbol: str) -> SymbolState | None:
        assert self.registry is not None
        found = self.registry.warm_state(symbol)
        if found is None:
            return None
        version, state = found
        try:
            check_models(state, self.config)
        except ConfigError as exc:
            log.warning("no warm start from registry version %d: %s", version, exc)
            return None
        log.info("warm start of %s from registry version %d (event time %s)", symbol, version,
                 state.last_ts)  # fmt: skip
        return state

    def adopt_chosen(self) -> list[str]:
        """Serve the models of versions an operator promoted or rolled back to; returns the
        symbols whose state changed. Call it between ticks, on the thread that steps them."""
        if self.registry is None:
            return []
        changed = []
        for symbol, version, chosen in self.registry.take_adoptions():
            live = self.states.states.get(symbol)
            if live is None:  # not ours: another worker serves it
                continue
            try:
                adopt_models(live, chosen)
            except ConfigError as exc:
                log.error("cannot adopt version %d: %s", version, exc)
                continue
            log.info("%s now serves the models of registry version %d", symbol, version)
            changed.append(symbol)
        return changed

    def checkpoint_all(self) -> None:
        """Checkpoint every symbol that learned since its last checkpoint (at the end of a run)."""
        if self.registry is None:
            return
        for state in self.states.states.values():
            if state.n_labels and state.checkpointed != (state.n_labels, state.last_ts):
                self.registry.submit(take(state))

    def reject(self, message: Any, reason: str) -> None:
        """Count a bad message and hand it, with its reason, to every sink's dead-letter path."""
        self.counts["invalid"] += 1
        self.invalid_reasons[reason.split(":")[0][:60]] += 1
        n = self.counts["invalid"]
        if n <= 10 or n % LOG_EVERY_DEAD_LETTER == 0:
            log.warning("dead letter #%d from %s: %s", n, self.source, reason)
        original = message if isinstance(message, bytes) else b""
        received = int(time.time() * 1000)
        letter = DeadLetter(received, self.source, reason, _payload_text(message), original)
        for sink in self.sinks:
            sink.add_dead_letter(letter)

    def flush(self) -> None:
        """Hand every sink's buffer over for writing (sinks may write in the background)."""
        for sink in self.sinks:
            sink.flush()
        self.observe()

    def observe(self) -> None:
        """Bring the Prometheus counters of ticks and dead letters up to date."""
        observe_pipeline(self.counts, self.invalid_reasons, self._observed)

    def drain(self) -> None:
        """Flush, then wait until every output so far is written: the first step of the
        flush order in DESIGN.md, before state is written and input acknowledged."""
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
