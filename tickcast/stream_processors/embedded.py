"""The embedded runner: source -> in-process queue -> core -> sinks, in one asyncio process.

It stands in for Kafka + a Faust worker when no servers run, on the same :class:`Runtime`:
records are processed in chunks as they come, a batch is cut every ``flush_interval_s`` or
``flush_max_rows`` records and completed while the next one fills, and once more at the end,
when every symbol is also checkpointed (if the pipeline has a registry). The queue is
bounded, so a slow consumer holds the source back instead of growing memory. A transient
write failure is retried by the runtime's back-off; a permanent one
(:class:`~tickcast.exceptions.PermanentWriteError`) ends the run with its message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any

from tickcast.config import Settings
from tickcast.stream_processors.runtime import Runtime

__all__ = ["run_embedded"]

FLUSH_INTERVAL_S: float = Settings.model_fields["flush_interval_s"].default
FLUSH_MAX_ROWS: int = Settings.model_fields["flush_max_rows"].default
QUEUE_SIZE = 10_000
CHUNK = 500
_END = object()


async def _feed(records: AsyncIterable[Any] | Iterable[Any], queue: asyncio.Queue[Any]) -> None:
    """Records into the queue in chunks (one queue item per chunk: per-record queue traffic
    cost more than the core)."""
    chunk: list[Any] = []
    try:
        if isinstance(records, AsyncIterable):
            async for record in records:
                chunk.append(record)
                if len(chunk) >= CHUNK or queue.empty():
                    await queue.put(chunk)
                    chunk = []
        else:
            for record in records:
                chunk.append(record)
                if len(chunk) >= CHUNK:
                    await queue.put(chunk)
                    chunk = []
    finally:
        if chunk:
            await queue.put(chunk)
        await queue.put(_END)


async def run_embedded(
    records: AsyncIterable[Any] | Iterable[Any],
    runtime: Runtime,
    *,
    flush_interval_s: float = FLUSH_INTERVAL_S,
    flush_max_rows: int = FLUSH_MAX_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Process every record; returns the number of records consumed."""
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE // CHUNK)
    feeder = asyncio.create_task(_feed(records, queue))
    pipeline = runtime.pipeline
    consumed = since_flush = 0
    last_flush = time.monotonic()
    try:
        while (chunk := await queue.get()) is not _END:
            pipeline.process(chunk)
            consumed += len(chunk)
            since_flush += len(chunk)
            if on_progress is not None:
                on_progress(len(chunk))
            if since_flush >= flush_max_rows or time.monotonic() - last_flush >= flush_interval_s:
                await runtime.flush()
                since_flush, last_flush = 0, time.monotonic()
            await asyncio.sleep(0)  # the completion in flight, and the demo's API, run too
    finally:
        feeder.cancel()
    await feeder if not feeder.cancelled() else None
    pipeline.checkpoint_all()
    await runtime.flush()
    await runtime.wait_completed()  # the last write must succeed or say why
    await runtime.drain_latest()
    return consumed
