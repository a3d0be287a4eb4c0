"""The worker's two guards against Faust's delivery: buffers kept on resume, repeats run once."""

from __future__ import annotations

import asyncio

import pytest
from mode.utils.queues import FlowControlQueue

from tests.isolated import logged
from tickcast.stream_processors.faust_app import ResumeKeepsFetched
from tickcast.stream_processors.worker import OffsetGuard


async def test_resume_while_flowing_keeps_fetched_records() -> None:
    flow = ResumeKeepsFetched(loop=asyncio.get_running_loop())
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    flow.resume()  # ends the initial suspension, as recovery does
    queue.put_nowait(1)
    queue.put_nowait(2)
    flow.resume()  # recovery completed: Faust resumes again while already flowing
    assert [queue.get_nowait(), queue.get_nowait()] == [1, 2]


async def test_resume_after_a_suspension_still_drops_old_records() -> None:
    flow = ResumeKeepsFetched(loop=asyncio.get_running_loop())
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    flow.resume()
    queue.put_nowait(1)
    flow.suspend()  # a rebalance starts: records of the old generation must go
    flow.resume()
    assert queue.empty()


def test_offset_guard_runs_each_offset_once_per_partition() -> None:
    guard = OffsetGuard()
    seen = [guard.is_new("p0", offset) for offset in (5, 6, 5, 6, 7)]
    assert seen == [True, True, False, False, True]
    assert guard.is_new("p1", 3)  # partitions are independent
    guard.forget({"p0"})
    assert guard.is_new("p0", 0)  # a partition that came back starts from its committed offset


def test_offset_guard_reports_a_skipped_range(caplog: pytest.LogCaptureFixture) -> None:
    guard = OffsetGuard()
    guard.is_new("p0", 10)
    assert guard.is_new("p0", 14)
    assert logged(caplog.records, "offsets_skipped") == [
        {"partition": "p0", "first": 11, "last": 13, "event": "offsets_skipped"}
    ]


async def test_a_batch_of_duplicates_after_recovery_still_knows_each_symbols_partition() -> None:
    """After a restart the first ticks redelivered are ones the recovered state covers: the
    batch's cut writes their symbols' states too, to the partition of their ticks (a symbol
    without a partition crashed the final flush)."""
    from dataclasses import dataclass, field
    from typing import Any

    import orjson

    from tickcast import bootstrap
    from tickcast.config import Settings
    from tickcast.online_model import CoreConfig
    from tickcast.stores.latest import InMemoryLatestStore
    from tickcast.stream_processors.worker import WorkerShell

    @dataclass
    class Message:
        partition: int
        offset: int
        tp: tuple[str, int] = ("ticks", 0)
        headers: list[Any] = field(default_factory=list)
        key: bytes = b"AAPL"

    @dataclass
    class Event:
        value: bytes
        message: Message

    now_ms = 1_800_000_000_000
    tick = orjson.dumps({"symbol": "AAPL", "ts": now_ms, "price": 100.0})
    runtime = bootstrap.runtime(CoreConfig(), [], clock=lambda: now_ms / 1000)
    runtime.process([tick])  # the recovered state already covers this tick
    runtime.pipeline.take()
    shell = WorkerShell(
        Settings(),
        runtime,
        kafka=None,
        clickhouse=None,  # type: ignore[arg-type]
        latest=InMemoryLatestStore(),
        registry=None,
        partition_of={},
    )
    await shell.process_events([Event(tick, Message(partition=3, offset=0, tp=("ticks", 3)))], None)
    assert runtime.pipeline.counts["duplicate"] == 1
    assert shell.partition_of == {"AAPL": 3}
