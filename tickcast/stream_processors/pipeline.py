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
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tickcast.monitor import observe_pipeline
from tickcast.online_model import CoreConfig, StepResult, SymbolStates
from tickcast.records import MAX_MESSAGE_BYTES, InvalidTickError, Tick, decode_tick, parse_tick
from tickcast.stream_processors.sinks import DeadLetter, Sink

__all__ = ["Pipeline"]

log = logging.getLogger(__name__)
LOG_EVERY_DEAD_LETTER = 1000  # after the first few, log one in this many


class Pipeline:
    def __init__(
        self, config: CoreConfig, sinks: Sequence[Sink] = (), source: str = "ticks"
    ) -> None:
        self.config = config
        self.states = SymbolStates(config)
        self.sinks = list(sinks)
        self.source = source
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
        result = self.states.step(tick)
        self.counts[result.status] += 1
        for sink in self.sinks:
            sink.add(tick, result)
        return result

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
        observe_pipeline(self.counts, self.invalid_reasons, self._observed)

    def drain(self) -> None:
        """Flush, then wait until every output so far is written: the first step of the
        flush order in DESIGN.md, before state is written and input acknowledged."""
        self.flush()
        for sink in self.sinks:
            sink.drain()


def _payload_text(message: Any) -> str:
    if isinstance(message, bytes):
        return message[:MAX_MESSAGE_BYTES].decode("utf-8", errors="replace")
    if isinstance(message, str):
        return message[:MAX_MESSAGE_BYTES]
    try:
        return orjson.dumps(message, default=str).decode()[:MAX_MESSAGE_BYTES]
    except TypeError:
        return repr(message)[:MAX_MESSAGE_BYTES]
