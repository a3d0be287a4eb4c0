"""The embedded runner: source -> in-process queue -> core -> sinks, in one asyncio process.

It stands in for Kafka + a Faust worker when no servers run. The queue is bounded, so a slow
consumer holds the source back instead of growing memory. Outputs are flushed every
``flush_interval_s`` or ``flush_max_rows`` messages, and once more at the end, when every
symbol is also checkpointed (if the pipeline has a registry). A flush that failed transiently
is logged and retried at the next one (the sinks keep their buffers); a permanent failure
(:class:`~tickcast.exceptions.PermanentWriteError`) ends the run with its message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Callable, Iterable
from typing import Any

from tickcast.exceptions import PermanentWriteError
from tickcast.stream_processors.pipeline import Pipeline

__all__ = ["run_embedded"]

log = logging.getLogger(__name__)
QUEUE_SIZE = 10_000
BATCH = 500
_END = object()


async def _feed(records: AsyncIterable[Any] | Iterable[Any], queue: asyncio.Queue[Any]) -> None:
    try:
        if isinstance(records, AsyncIterable):
            async for record in records:
                await queue.put(record)
        else:
            for count, record in enumerate(records):
                await queue.put(record)
                if count % BATCH == BATCH - 1:
                    await asyncio.sleep(0)
    finally:
        await queue.put(_END)


def _flush(pipeline: Pipeline) -> None:
    try:
        pipeline.flush()
    except PermanentWriteError:
        raise
    except Exception as exc:  # a sink that is down must not stop the stream; it retries
        log.warning("flush failed (%s); outputs stay buffered and are retried", exc)


async def run_embedded(
    records: AsyncIterable[Any] | Iterable[Any],
    pipeline: Pipeline,
    *,
    flush_interval_s: float = 0.5,
    flush_max_rows: int = 5_000,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Process every record; returns the number of messages consumed."""
    queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
    feeder = asyncio.create_task(_feed(records, queue))
    consumed = since_flush = 0
    last_flush = time.monotonic()
    try:
        while True:
            batch = [await queue.get()]
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            done = batch[-1] is _END
            for record in batch[:-1] if done else batch:
                pipeline.process(record)
            n = len(batch) - done
            consumed += n
            since_flush += n
            if on_progress is not None and n:
                on_progress(n)
            if done:
                break
            if since_flush >= flush_max_rows or time.monotonic() - last_flush >= flush_interval_s:
                _flush(pipeline)
                since_flush, last_flush = 0, time.monotonic()
    finally:
        feeder.cancel()
    await feeder if not feeder.cancelled() else None
    pipeline.checkpoint_all()
    pipeline.drain()  # the last write must succeed or say why
    return consumed
