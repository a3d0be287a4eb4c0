"""The pure stepper around the core: decode, bound, step, count; no clock, no I/O.

Every driver's events reach it through the :class:`~tickcast.stream_processors.runtime.Runtime`
(which reads the clock and owns the batch), so the embedded runner, the Faust worker and
``tickcast backtest`` validate, forecast and dead-letter identically. This is the one place
that decides what a bad message becomes: a dead letter with its reason, never an exception out
of the stream. The ok ticks' outputs accumulate in the core's open batch, the checkpoints the
core stopped for in :attr:`Pipeline.checkpoints`, until the runtime takes them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from tickcast._core import Batch, step_batch
from tickcast.codecs import StateCodec
from tickcast.contract import STATUSES
from tickcast.messages import MAX_MESSAGE_BYTES, decode_tick
from tickcast.online_model import CoreConfig, SymbolState, SymbolStates
from tickcast.online_model.checkpoints import Checkpoint, adopt_learned, take
from tickcast.records import Forecast, InvalidTickError, RejectCode, Tick, parse_tick
from tickcast.stream_processors.bounds import Bounds, Refusal, Window
from tickcast.stream_processors.outputs import DeadLetter, Outputs

__all__ = ["Message", "Pipeline", "Processed", "Verdict"]

log = logging.getLogger(__name__)
LOG_EVERY_DEAD_LETTER = 1000  # after the first few, log one in this many
Verdict = Literal["ok", "duplicate", "late", "invalid"]
Message = Mapping[str, Any] | bytes | str
Cadence = tuple[int, int, int]  # CheckpointPolicy.cadence; zeros: never


@dataclass(slots=True)
class Processed:
    """What became of a call's messages: per message its tick (None: a dead letter), and the
    verdicts of the ticks, in order (no object per message: a tuple each was about half of
    this call's own time in a profile of the embedded runner)."""

    ticks: list[Tick | None]
    verdicts: list[Verdict]

    def per_message(self) -> list[Verdict]:
        """Each message's verdict, "invalid" for a dead letter."""
        verdicts = iter(self.verdicts)
        return ["invalid" if tick is None else next(verdicts) for tick in self.ticks]


class Pipeline:
    """Decode, bound, step; checkpoints taken where the core stops for one.

    A symbol's state is the one in memory, else ``initial(symbol)`` (the driver's recovery and
    warm start, :class:`~tickcast.stream_processors.state_sources.StateSources`), else a new
    one. Event times and symbols are bounded here, at the shell, never in the core
    (``bounds``, in the ``window`` the runtime reads from its clock): a tick past them is a
    dead letter. ``codec`` signs the checkpoints' states; ``cadence``: the core's stops for a
    checkpoint (zeros: none); ``moves_aliases``: whether those checkpoints may move the
    registry aliases live workers follow; ``messages``: whether the batch writes the forecasts
    topic's messages (a worker's topic sink reads them).
    """

    def __init__(
        self,
        config: CoreConfig,
        source: str = "ticks",
        *,
        bounds: Bounds | None = None,
        codec: StateCodec | None = None,
        cadence: Cadence = (0, 0, 0),
        moves_aliases: bool = False,
        messages: bool = False,
        initial: Callable[[str], SymbolState | None] | None = None,
    ) -> None:
        self.config = config
        self.states = SymbolStates(config)
        self.source = source
        self.bounds = bounds or Bounds()
        self.codec = codec or StateCodec.ephemeral()
        self.cadence = cadence
        self.moves_aliases = moves_aliases
        self.messages = messages
        self.initial = initial
        self.counts: Counter[str] = Counter()
        self.invalid_reasons: Counter[str] = Counter()  # by RejectCode
        self.invalid_examples: dict[str, str] = {}  # the first full reason per code
        self.batch = Batch(messages)
        self.dead_letters: list[DeadLetter] = []
        self.checkpoints: list[Checkpoint] = []  # taken where the core stopped, not yet written
        self.dirty: set[str] = set()  # symbols that moved since their state was last taken
        self.latest_given: dict[int, int] = {}  # symbol index -> served row given as latest

    def process(
        self,
        messages: Sequence[Message],
        window: Window,
        received_ms: int,
        keys: Sequence[bytes | None] | None = None,
    ) -> Processed:
        """Decode raw records or JSON messages (with their Kafka ``keys``, when they came with
        one) and step their ticks; a message that is no tick is a dead letter (``received_ms``:
        its time of arrival)."""
        decode = self.decode
        if keys is None:
            ticks = [decode(message, window, received_ms) for message in messages]
        else:
            ticks = [decode(m, window, received_ms, k) for m, k in zip(messages, keys, strict=True)]
        return Processed(ticks, self.step([tick for tick in ticks if tick is not None]))

    def step(self, ticks: Sequence[Tick]) -> list[Verdict]:
        """Step valid ticks, one verdict each; where the core stops for a checkpoint, take it.
        The per-tick work is the core's: here only counts, per call."""
        if not ticks:
            return []
        states = self.states.states
        cores = [(states.get(tick.symbol) or self.state(tick.symbol)).core for tick in ticks]
        ticks = list(ticks)
        statuses, done = b"", 0
        while done < len(ticks):
            part, stopped = step_batch(cores, ticks, self.batch, done, *self.cadence)
            statuses += part
            done += len(part)
            if stopped:
                state = states[ticks[done - 1].symbol]
                self.checkpoints.append(take(state, self.codec, moves_aliases=self.moves_aliases))
        for code, status in enumerate(STATUSES):
            if n := statuses.count(code):
                self.counts[status] += n
        return [STATUSES[code] for code in statuses]

    def decode(
        self, message: Message, window: Window, received_ms: int, key: bytes | None = None
    ) -> Tick | None:
        """The message as a Tick within the bounds, or None after handing it to the dead
        letters. ``key``: the Kafka key it came with, which must be its symbol (a worker's
        ticks are partitioned by it, so another key would put the symbol in two workers'
        hands). Nothing a message holds makes this raise."""
        try:
            tick = decode_tick(message) if isinstance(message, bytes | str) else parse_tick(message)
        except InvalidTickError as exc:
            self.reject(message, exc.reason, exc.code, received_ms)
            return None
        except Exception as exc:  # a defect of ours: the message still only becomes a letter
            if not self.invalid_reasons["malformed"]:
                log.exception("decoding a message failed unexpectedly (logged once)")
            reason = f"the message does not decode ({type(exc).__name__})"
            self.reject(message, reason, "malformed", received_ms)
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
            self.reject(message, *refusal, received_ms)
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

    def take_checkpoints(self) -> list[Checkpoint]:
        taken, self.checkpoints = self.checkpoints, []
        return taken

    def state(self, symbol: str) -> SymbolState:
        """The symbol's state: in memory, else the driver's initial one, else new."""
        states = self.states.states
        state = states.get(symbol)
        if state is None:
            found = self.initial(symbol) if self.initial is not None else None
            state = states[symbol] = found or SymbolState(symbol, self.config)
        return state

    def adopt(self, symbol: str, chosen: SymbolState) -> bool:
        """Serve what ``chosen`` learned for ``symbol`` from now on, if the symbol is ours
        (another worker serves the rest); its state is then written with the next batch."""
        live = self.states.states.get(symbol)
        if live is None:
            return False
        adopt_learned(live, chosen)
        self.dirty.add(symbol)
        return True

    def forget(self, symbols: Sequence[str]) -> None:
        """Drop the in-memory state of symbols another worker serves now."""
        for symbol in symbols:
            self.states.states.pop(symbol, None)
            self.dirty.discard(symbol)

    def checkpoint_all(self) -> None:
        """Take a checkpoint of every symbol that learned since its last (at the end of a run)."""
        for state in self.states.states.values():
            p = state.progress
            if p.n_labels and state.checkpointed != (p.n_labels, p.last_ts):
                self.checkpoints.append(take(state, self.codec, moves_aliases=self.moves_aliases))

    def reject(self, message: Any, reason: str, code: RejectCode, received_ms: int) -> None:
        """Count a bad message by its code and keep it, with its full reason, as a dead
        letter of the open batch."""
        self.counts["invalid"] += 1
        self.invalid_reasons[code] += 1
        self.invalid_examples.setdefault(code, reason)
        n = self.counts["invalid"]
        if n <= 10 or n % LOG_EVERY_DEAD_LETTER == 0:
            log.warning("dead letter #%d from %s: %s", n, self.source, reason)
        original = message[:MAX_MESSAGE_BYTES] if isinstance(message, bytes) else b""
        self.dead_letters.append(
            DeadLetter(received_ms, self.source, code, reason, _payload_text(message), original)
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
