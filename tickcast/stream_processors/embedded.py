"""The embedded runner: source -> in-process queue -> core -> sinks, in one asyncio process.

It stands in for Kafka + a Faust worker when no servers run: it hands the records to the same
:class:`Runtime` in chunks as they come, and the runtime cuts and completes the batches (and
the last one at the end, with a checkpoint of every symbol when it has a registry). The queue
is bounded, so a slow consumer holds the source back instead of growing memory. A transient
write failure is retried by the runtime's back-off; a permanent one
(:class:`~tickcast.exceptions.PermanentWriteError`) ends the run with its message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any

from tickcast.stream_processors.runtime import Runtime

__all__ = ["run_embedded"]

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
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Process every record; returns the number of records consumed."""
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE // CHUNK)
    feeder = asyncio.create_task(_feed(records, queue))
    consumed = 0
    try:
        while (chunk := await queue.get()) is not _END:
            await runtime.offer(chunk)
            consumed += len(chunk)
            if on_progress is not None:
                on_progress(len(chunk))
            await asyncio.sleep(0)  # the completion in flight, and the demo's API, run too
    finally:
        feeder.cancel()
    await feeder if not feeder.cancelled() else None
    await runtime.finish()
    return consumed
