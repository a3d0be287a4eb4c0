"""The runtime that owns a batch, for the embedded runner and the Faust worker alike.

A flush is cut and completed in two steps (``docs/architecture.md``):

- the **cut** runs between two messages, on the event loop: it writes the latest forecasts
  (cheap, and never held back by the rest), takes the pipeline's outputs, each sink's part
  of them, the states of the symbols that moved (encoded once each) and the events to
  acknowledge;
- the **completion** writes (1) every sink's part, (2) the states, and only then (3)
  acknowledges the events, each write retried by one back-off policy; it runs while the
  stream goes on with the next batch. At most one completion runs at a time: states reach
  the changelog in order, and a slow output holds the stream back instead of growing memory.

A permanent write error (:class:`~tickcast.exceptions.PermanentWriteError`) ends the
completion with it raised: nothing after the failed write is done, nothing is acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tickcast.monitor.prometheus import observe_processing
from tickcast.retry import Backoff, retry
from tickcast.stream_processors.pipeline import Pipeline
from tickcast.stream_processors.sinks import LatestSink, Sink

__all__ = ["Cut", "Runtime", "StateSink"]

LATEST_DRAIN_S = 10.0  # at the end of a run: a store that answers needs milliseconds
ACKS_PER_TURN = 200  # ~2 ms of Faust's acks: 5,000 at once held the event loop ~25 ms


class StateSink(Protocol):
    """Where states go (the worker's changelog): a part is the encoded states of one cut."""

    def part(self, states: dict[str, bytes]) -> Any: ...
    async def write(self, part: Any) -> None: ...


@dataclass
class Cut:
    """What one flush writes, taken between two messages."""

    parts: dict[str, Any]
    states: Any
    events: list[Any] = field(default_factory=list)
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    ticks: int = 0

    def is_empty(self) -> bool:
        return not (self.ticks or self.parts or self.states or self.events)


@dataclass
class Runtime:
    """Cut and complete batches of ``pipeline``'s outputs into ``sinks``, then ``states``."""

    pipeline: Pipeline
    sinks: Sequence[Sink[Any]] = ()
    latest: LatestSink | None = None
    states: StateSink | None = None
    backoff: Backoff = field(default_factory=Backoff)
    completing: asyncio.Task[None] | None = field(default=None, init=False)

    def write_latest(self) -> int:
        """Write the newest served forecasts now (on the loop, between messages); returns how
        many symbols were fresh."""
        fresh = self.pipeline.take_fresh() if self.latest is not None else []
        if self.latest is not None:
            self.latest.offer(fresh)
            self.latest.flush()
        return len(fresh)

    def cut(self, events: Sequence[Any] = ()) -> Cut:
        """Take the batch (see the module docstring); the latest forecasts are written first."""
        self.write_latest()
        outputs = self.pipeline.take()
        parts = (
            {sink.name: sink.part(outputs) for sink in self.sinks}
            if len(outputs) or outputs.dead_letters
            else {}
        )
        dirty = self.pipeline.take_dirty()
        states = None
        if self.states is not None and dirty:
            encode = self.pipeline.codec.encode
            states = self.states.part({symbol: encode(state) for symbol, state in dirty.items()})
        self.pipeline.observe()
        return Cut(parts, states, list(events), self.pipeline.take_arrivals(), len(outputs))

    async def complete(self, cut: Cut, ack: Callable[[Any], Awaitable[Any]] | None = None) -> None:
        """Outputs written and confirmed, then states, then the acks (see the module)."""
        writes = [
            retry(name, _writer(sink, cut.parts[name]), self.backoff)
            for sink in self.sinks
            if (name := sink.name) in cut.parts
        ]
        await asyncio.gather(*writes)
        if self.states is not None and cut.states is not None:
            await retry("state", _writer(self.states, cut.states), self.backoff)
        if ack is not None:
            for i, event in enumerate(cut.events, 1):
                await ack(event)
                if i % ACKS_PER_TURN == 0:
                    await asyncio.sleep(0)  # let the stream run between runs of acks
        observe_processing(cut.arrivals)

    async def flush(
        self, events: Sequence[Any] = (), ack: Callable[[Any], Awaitable[Any]] | None = None
    ) -> None:
        """Wait for the batch in flight, cut the next one and start completing it."""
        await self.wait_completed()
        cut = self.cut(events)
        if not cut.is_empty():
            self.completing = asyncio.ensure_future(self.complete(cut, ack))

    async def drain_latest(self, timeout_s: float = LATEST_DRAIN_S) -> None:
        """Write the latest forecasts still pending and wait for it (the end of a run)."""
        if self.latest is not None:
            self.write_latest()
            await asyncio.get_running_loop().run_in_executor(None, self.latest.wait, timeout_s)

    async def wait_completed(self) -> None:
        """Wait for the completion in flight (raising what it raised); it stays in
        ``completing`` while it runs, so a stop can give it up."""
        completing = self.completing
        if completing is not None:
            try:
                await completing
            finally:
                if self.completing is completing:
                    self.completing = None


def _writer(sink: Any, part: Any) -> Callable[[], Awaitable[None]]:
    async def write() -> None:
        await sink.write(part)

    return write
