"""The shell around the core that every driver shares: decode, bound, step, count.

The embedded runner, the Faust worker and ``tickcast backtest`` all feed messages through
:meth:`Pipeline.process`, so they validate, forecast and dead-letter identically. This is the
one place that decides what a bad message becomes: a dead letter with its reason, never an
exception out of the stream. The ok ticks' outputs accumulate in the core's open batch until
the runtime takes them (:meth:`Pipeline.take`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import orjson

from tickcast._core import Batch, step_batch
from tickcast.codecs import StateCodec, StateRefusedError
from tickcast.config import Settings
from tickcast.contract import STATUSES
from tickcast.messages import MAX_MESSAGE_BYTES, decode_tick
from tickcast.monitor.prometheus import observe_pipeline
from tickcast.online_model import CoreConfig, SymbolState, SymbolStates
from tickcast.online_model.checkpoints import CheckpointPolicy, adopt_learned, take
from tickcast.records import Forecast, InvalidTickError, RejectCode, Tick, parse_tick
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors.bounds import Bounds, Refusal, Window
from tickcast.stream_processors.outputs import DeadLetter, Outputs

__all__ = ["Pipeline", "checkpoint_policy"]

log = logging.getLogger(__name__)
LOG_EVERY_DEAD_LETTER = 1000  # after the first few, log one in this many
Outcome = Literal["ok", "duplicate", "late", "invalid"]
Message = Mapping[str, Any] | bytes | str


class Pipeline:
    """Decode, bound, step; optionally checkpoint to (and warm-start from) a registry.

    A symbol's state is, in this order: the one in memory; the one ``recover`` returns (the
    worker's table, as encoded bytes); the registry's champion when ``warm_start`` is on (its
    learned parameters on a fresh data state); a new one. Replays leave warm starts off, so
    they stay deterministic: the same ticks, the same forecasts. ``moves_aliases``: whether
    checkpoints may move the registry aliases that live workers follow.

    Event times and symbols are bounded here, at the shell, never in the core (``bounds``,
    against ``clock``, epoch seconds): a tick past them is a dead letter. States are encoded
    and decoded by ``codec``, which signs them; one that does not decode (forged, altered, of
    another configuration) takes the fallback below, never the process down. ``messages``:
    whether the batch writes the forecasts topic's messages (a worker's topic sink reads them).
    """

    def __init__(
        self,
        config: CoreConfig,
        source: str = "ticks",
        *,
        registry: BackgroundRegistry | None = None,
        policy: CheckpointPolicy | None = None,
        warm_start: bool = False,
        recover: Callable[[str], bytes | None] | None = None,
        moves_aliases: bool = False,
        bounds: Bounds | None = None,
        codec: StateCodec | None = None,
        clock: Callable[[], float] = time.time,
        observe_latency: bool = False,
        messages: bool = False,
    ) -> None:
        self.config = config
        self.states = SymbolStates(config)
        self.source = source
        self.registry = registry
        self.policy = policy or CheckpointPolicy()
        # the core's stops for a checkpoint, as CheckpointPolicy.cadence; zeros: never
        self.cadence = self.policy.cadence if registry is not None else (0, 0, 0)
        self.warm_start = warm_start
        self.recover = recover
        self.moves_aliases = moves_aliases
        self.bounds = bounds or Bounds()
        self.codec = codec or StateCodec.ephemeral()
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.invalid_reasons: Counter[str] = Counter()  # by RejectCode
        self.invalid_examples: dict[str, str] = {}  # the first full reason per code
        self.messages = messages
        self.batch = Batch(messages)
        self.dead_letters: list[DeadLetter] = []
        self.dirty: set[str] = set()  # symbols that moved since their state was last taken
        self.latest_given: dict[int, int] = {}  # symbol index -> served row given as latest
        self.arrivals: list[tuple[float, int]] | None = [] if observe_latency else None
        self._observed: dict[str, int] = {}

    def process(self, messages: Sequence[Message]) -> list[Outcome]:
        """Validate raw records or JSON messages and step their symbols; one outcome per
        message: "ok", "duplicate", "late" or "invalid" (then it is a dead letter)."""
        arrived = time.perf_counter()
        window = self.window()
        ticks, at = [], []
        for i, message in enumerate(messages):
            tick = self.decode(message, window)
            if tick is not None:
                ticks.append(tick)
                at.append(i)
        outcomes: list[Outcome] = ["invalid"] * len(messages)
        for i, status in zip(at, self.step(ticks, arrived), strict=True):
            outcomes[i] = status
        return outcomes

    def step(self, ticks: Sequence[Tick], arrived: float | None = None) -> list[Outcome]:
        """Step valid ticks (``arrived``: when their messages came, perf_counter seconds, for
        the processing latency); one status per tick. The per-tick work is the core's: here
        only counts, per call."""
        if not ticks:
            return []
        arrived = time.perf_counter() if arrived is None else arrived
        states = self.states.states
        cores = []
        for tick in ticks:
            state = states.get(tick.symbol) or self.state(tick.symbol)
            cores.append(state.core)
        ticks = list(ticks)
        statuses, done = b"", 0
        while done < len(ticks):
            part = step_batch(cores, ticks, self.batch, done, *self.cadence)
            statuses += part
            done += len(part)
            if self.registry is None:
                continue  # the core stops only at a checkpoint's cadence, off here
            stopped = states[ticks[done - 1].symbol]
            if done < len(ticks) or (part and self.policy.due(stopped)):
                self.registry.submit(take(stopped, self.codec, moves_aliases=self.moves_aliases))
        for code, status in enumerate(STATUSES):
            if n := statuses.count(code):
                self.counts[status] += n
        if self.arrivals is not None and (ok := statuses.count(0)):
            self.arrivals.append((arrived, ok))
        return [STATUSES[code] for code in statuses]

    def window(self) -> Window:
        """The event times accepted now: read once per call of many messages."""
        return self.bounds.window(int(self.clock() * 1000))

    def decode(self, message: Message, window: Window, key: bytes | None = None) -> Tick | None:
        """The message as a Tick within the bounds (``window``: :meth:`window`, read once per
        batch of messages), or None after handing it to the dead-letter path. ``key``: the
        Kafka key it came with, which must be its symbol (a worker's ticks are partitioned by
        it, so another key would put the symbol in two workers' hands). Nothing a message holds
        makes this raise."""
        try:
            tick = decode_tick(message) if isinstance(message, bytes | str) else parse_tick(message)
        except InvalidTickError as exc:
            self.reject(message, exc.reason, exc.code)
            return None
        except Exception as exc:  # a defect of ours: the message still only becomes a letter
            if not self.invalid_reasons["malformed"]:
                log.exception("decoding a message failed unexpectedly (logged once)")
            self.reject(message, f"the message does not decode ({type(exc).__name__})", "malformed")
            return None
        refusal: Refusal | None = None
        if key is not None and key != tick.symbol.encode():
            refusal = (
                f"key {key[:20]!r} is not the symbol {tick.symbol!r}: ticks are keyed by symbol",
                "bad_key",
            )
        else:
            refusal = self.bounds.time(tick, window)
        if refusal is None and tick.symbol not in self.states.states:
            refusal = self.bounds.symbol(tick.symbol, self.states.states)
            if refusal is None:
                self.state(tick.symbol)  # counted from now: one batch cannot overshoot
        if refusal is not None:
            self.reject(message, *refusal)
            return None
        return tick

    def take(self) -> Outputs:
        """The outputs since the last take (the open batch and its dead letters)."""
        outputs = Outputs(self.batch, self.config, self.dead_letters)
        self.dirty.update(self.batch.symbols)  # the symbols with outputs moved
        self.batch, self.dead_letters = Batch(self.messages), []
        self.latest_given = {}
        return outputs

    def take_dirty(self) -> dict[str, SymbolState]:
        """The states of the symbols that moved up to the last take, to write once each."""
        states = self.states.states
        dirty = {symbol: states[symbol] for symbol in self.dirty if symbol in states}
        self.dirty = set()
        return dirty

    def take_fresh(self) -> list[Forecast]:
        """The served forecasts of the open batch that are newer than those given to the
        latest store before: the newest per symbol."""
        rows = [(s, row) for s, row in self.batch.latest() if self.latest_given.get(s) != row]
        self.latest_given.update(rows)
        return Outputs(self.batch, self.config).latest([row for _, row in rows])

    def take_arrivals(self) -> list[tuple[float, int]]:
        """When the ticks forecast since the last take arrived (perf_counter seconds), as
        (arrival, ticks) per call of :meth:`step`."""
        if self.arrivals is None:
            return []
        taken, self.arrivals = self.arrivals, []
        return taken

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

    def forget(self, symbols: Sequence[str]) -> None:
        """Drop the in-memory state of symbols another worker serves now."""
        for symbol in symbols:
            self.states.states.pop(symbol, None)
            self.dirty.discard(symbol)

    def _recovered(self, symbol: str) -> SymbolState | None:
        data = self.recover(symbol) if self.recover else None
        if data is None:
            return None
        try:
            state = self.codec.decode(data, self.config, symbol)
        except StateRefusedError as exc:
            log.warning(
                "%s: the recovered state is not usable (%s); starting it from the "
                "registry's champion or fresh",
                symbol,
                exc.reason,
            )
            return None
        log.info("recovered %s at event time %s", symbol, state.progress.last_ts)
        return state

    def _warm(self, symbol: str) -> SymbolState | None:
        """A fresh state that serves what the registry's champion learned."""
        assert self.registry is not None
        found = self.registry.warm_state(symbol)
        if found is None:
            return None
        version, data = found
        try:
            chosen = self.codec.decode(data, self.config, symbol)
        except StateRefusedError as exc:
            log.warning(
                "%s: no warm start from registry version %d: %s; starting fresh",
                symbol,
                version,
                exc.reason,
            )
            return None
        state = SymbolState(symbol, self.config)
        adopt_learned(state, chosen)
        log.info(
            "warm start of %s from registry version %d (learned up to event time %s)",
            symbol,
            version,
            chosen.progress.last_ts,
        )
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
                chosen = self.codec.decode(adoption.state, self.config, adoption.symbol)
                adopt_learned(live, chosen)
            except StateRefusedError as exc:
                log.error(
                    "%s: cannot adopt registry version %d: %s; serving on as before",
                    adoption.symbol,
                    adoption.version,
                    exc.reason,
                )
                continue
            log.info(
                "%s now serves the models of registry version %d", adoption.symbol, adoption.version
            )
            changed.append(adoption.symbol)
        self.dirty.update(changed)
        return changed

    def checkpoint_all(self) -> None:
        """Checkpoint every symbol that learned since its last checkpoint (at the end of a run)."""
        if self.registry is None:
            return
        for state in self.states.states.values():
            p = state.progress
            if p.n_labels and state.checkpointed != (p.n_labels, p.last_ts):
                self.registry.submit(take(state, self.codec, moves_aliases=self.moves_aliases))

    def reject(self, message: Any, reason: str, code: RejectCode) -> None:
        """Count a bad message by its code and keep it, with its full reason, as a dead
        letter of the open batch."""
        self.counts["invalid"] += 1
        self.invalid_reasons[code] += 1
        self.invalid_examples.setdefault(code, reason)
        n = self.counts["invalid"]
        if n <= 10 or n % LOG_EVERY_DEAD_LETTER == 0:
            log.warning("dead letter #%d from %s: %s", n, self.source, reason)
        original = message[:MAX_MESSAGE_BYTES] if isinstance(message, bytes) else b""
        received = int(self.clock() * 1000)
        self.dead_letters.append(
            DeadLetter(received, self.source, code, reason, _payload_text(message), original)
        )

    def observe(self) -> None:
        """Bring the Prometheus counters of ticks and dead letters up to date, and read what
        the registry's process said."""
        observe_pipeline(self.counts, self.invalid_reasons, self._observed)
        if self.registry is not None:
            self.registry.poll()


def checkpoint_policy(settings: Settings) -> CheckpointPolicy:
    return CheckpointPolicy(
        settings.checkpoint_every_labels,
        settings.checkpoint_every_s,
        settings.checkpoint_min_interval_s,
    )


def _payload_text(message: Any) -> str:
    if isinstance(message, bytes):
        return message[:MAX_MESSAGE_BYTES].decode("utf-8", errors="replace")
    if isinstance(message, str):
        return message[:MAX_MESSAGE_BYTES]
    try:
        return orjson.dumps(message, default=str).decode()[:MAX_MESSAGE_BYTES]
    except TypeError:
        return repr(message)[:MAX_MESSAGE_BYTES]
