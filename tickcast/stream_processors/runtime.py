"""The runtime that owns a batch, for every driver: the embedded queue, the Faust worker and
the backtest hand it events and nothing else.

It reads the clock (the bounds' window, a dead letter's time, the flush interval), hands the
events to the pure :class:`~tickcast.stream_processors.pipeline.Pipeline`, decides the cut
(``flush_max_rows`` events or ``flush_interval_s``), and completes each batch in one declared
sequence (``docs/architecture.md``):

- the **cut**, between two messages on the event loop: (0) what the registry said (versions an
  operator chose are adopted, so their state goes with this batch), (1) the latest forecasts
  published (latest wins: never held back by the rest), (2) the batch's outputs and each
  sink's part of them, the states of the symbols that moved (encoded once each) and the
  checkpoints taken, (3) the observers told (Prometheus);
- the **completion**, while the stream goes on with the next batch: (1) every sink's part
  written and confirmed, (2) the states, (3) the registry's checkpoints, and only then (4) the
  batch's events acknowledged, each write retried by one back-off policy. At most one
  completion runs at a time: states reach the changelog in order, and a slow output holds the
  stream back instead of growing memory.

A permanent write error (:class:`~tickcast.exceptions.PermanentWriteError`) ends the
completion with it raised: nothing after the failed write is done, nothing is acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from tickcast.config import Settings
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.retry import Backoff, retry
from tickcast.stream_processors.outputs import Outputs
from tickcast.stream_processors.pipeline import Message, Pipeline, Processed
from tickcast.stream_processors.sinks import LatestSink, Sink
from tickcast.stream_processors.state_sources import StateSources

__all__ = ["CheckpointSink", "Cut", "Observer", "Runtime", "StateSink"]

LATEST_DRAIN_S = 10.0  # at the end of a run: a store that answers needs milliseconds
ACKS_PER_TURN = 200  # ~2 ms of Faust's acks: 5,000 at once held the event loop ~25 ms
FLUSH_INTERVAL_S: float = Settings.model_fields["flush_interval_s"].default
FLUSH_MAX_ROWS: int = Settings.model_fields["flush_max_rows"].default

Ack = Callable[[Any], Awaitable[Any]]


class StateSink(Protocol):
    """Where states go (the worker's changelog): a part is the encoded states of one cut."""

    def part(self, states: dict[str, bytes]) -> Any: ...
    async def write(self, part: Any) -> None: ...


class CheckpointSink(Protocol):
    """Where the registry's checkpoints go, after the states that cover them."""

    def hear(self) -> None: ...  # read what the registry said (a child nobody reads stalls)
    async def write(self, part: list[Checkpoint]) -> None: ...


class Observer(Protocol):
    """Watches batches without writing anything (Prometheus): at the cut, and once written."""

    def observe(self, outputs: Outputs, pipeline: Pipeline) -> None: ...
    def written(self, arrivals: list[tuple[float, int]]) -> None: ...


@dataclass
class Cut:
    """What one flush writes, taken between two messages."""

    parts: dict[str, Any]
    states: Any
    checkpoints: list[Checkpoint] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    ticks: int = 0

    def is_empty(self) -> bool:
        return not (self.ticks or self.parts or self.states or self.checkpoints or self.events)


@dataclass
class Runtime:
    """Process events, cut batches and complete them into ``sinks``, then ``states``, then
    ``checkpoints``, then the acknowledgements (``ack``, per event)."""

    pipeline: Pipeline
    sinks: Sequence[Sink[Any]] = ()
    latest: LatestSink | None = None
    states: StateSink | None = None
    checkpoints: CheckpointSink | None = None
    sources: StateSources | None = None
    observers: Sequence[Observer] = ()
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.time  # epoch seconds: bounds and dead letters
    flush_max_rows: int = FLUSH_MAX_ROWS
    flush_interval_s: float = FLUSH_INTERVAL_S
    ack: Ack | None = None
    completing: asyncio.Task[None] | None = field(default=None, init=False)
    events: list[Any] = field(default_factory=list, init=False)  # to acknowledge with the batch
    rows: int = field(default=0, init=False)  # messages processed since the last cut
    arrivals: list[tuple[float, int]] = field(default_factory=list, init=False)
    last_cut: float = field(default_factory=time.monotonic, init=False)

    def process(
        self,
        messages: Sequence[Message],
        keys: Sequence[bytes | None] | None = None,
        events: Sequence[Any] = (),
    ) -> Processed:
        """Step these messages (their Kafka ``keys`` when they came with one); ``events`` are
        acknowledged once the batch that holds them is written."""
        arrived = time.perf_counter()
        now_ms = int(self.clock() * 1000)
        window = self.pipeline.bounds.window(now_ms)
        processed = self.pipeline.process(messages, window, now_ms, keys)
        self.events.extend(events)
        self.rows += len(messages)
        if ok := processed.verdicts.count("ok"):
            self.arrivals.append((arrived, ok))
        return processed

    def hold(self, events: Sequence[Any]) -> None:
        """Events to acknowledge with the batch that were not processed (delivered again)."""
        self.events.extend(events)

    def due(self) -> bool:
        """Whether the open batch is to be cut: full, or open a flush interval."""
        return (
            self.rows >= self.flush_max_rows
            or time.monotonic() - self.last_cut >= self.flush_interval_s
        )

    async def offer(
        self,
        messages: Sequence[Message],
        keys: Sequence[bytes | None] | None = None,
        events: Sequence[Any] = (),
    ) -> Processed:
        """:meth:`process`, then a flush when one is due."""
        processed = self.process(messages, keys, events)
        if self.due():
            await self.flush()
        return processed

    def publish_latest(self) -> int:
        """Publish the newest served forecasts now (latest wins; between messages); returns
        how many symbols were fresh."""
        if self.latest is None:
            return 0
        fresh = self.pipeline.take_fresh()
        self.latest.write(fresh)
        return len(fresh)

    def adopt_chosen(self) -> list[str]:
        """Serve what the versions an operator promoted or rolled back to learned, for the
        symbols this runtime serves; returns those symbols."""
        if self.sources is None:
            return []
        return [s for s, chosen in self.sources.adoptions() if self.pipeline.adopt(s, chosen)]

    def cut(self) -> Cut:
        """Take the batch (see the module docstring)."""
        self.adopt_chosen()
        if self.checkpoints is not None:
            self.checkpoints.hear()
        self.publish_latest()
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
        checkpoints = self.pipeline.take_checkpoints() if self.checkpoints is not None else []
        for observer in self.observers:
            observer.observe(outputs, self.pipeline)
        events, self.events, self.rows = self.events, [], 0
        arrivals, self.arrivals = self.arrivals, []
        self.last_cut = time.monotonic()
        return Cut(parts, states, checkpoints, events, arrivals, len(outputs))

    async def complete(self, cut: Cut) -> None:
        """Outputs written and confirmed, then states, then checkpoints, then the acks."""
        writes = [
            retry(name, _writer(sink, cut.parts[name]), self.backoff)
            for sink in self.sinks
            if (name := sink.name) in cut.parts
        ]
        await asyncio.gather(*writes)
        if self.states is not None and cut.states is not None:
            await retry("state", _writer(self.states, cut.states), self.backoff)
        if self.checkpoints is not None and cut.checkpoints:
            await retry("checkpoints", _writer(self.checkpoints, cut.checkpoints), self.backoff)
        if self.ack is not None:
            for i, event in enumerate(cut.events, 1):
                await self.ack(event)
                if i % ACKS_PER_TURN == 0:
                    await asyncio.sleep(0)  # let the stream run between runs of acks
        for observer in self.observers:
            observer.written(cut.arrivals)

    async def flush(self) -> None:
        """Wait for the batch in flight, cut the next one and start completing it."""
        await self.wait_completed()
        cut = self.cut()
        if not cut.is_empty():
            self.completing = asyncio.ensure_future(self.complete(cut))

    async def finish(self) -> None:
        """The end of a run: a checkpoint of every symbol that learned, the last batch written
        (its write must succeed or say why), the latest forecasts drained."""
        self.pipeline.checkpoint_all()
        await self.flush()
        await self.wait_completed()
        await self.drain_latest()

    async def drain_latest(self, timeout_s: float = LATEST_DRAIN_S) -> None:
        """Publish the latest forecasts still pending and wait for the write."""
        if self.latest is not None:
            self.publish_latest()
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
