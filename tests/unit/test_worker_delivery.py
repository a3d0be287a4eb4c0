"""The worker's two guards against Faust's delivery: buffers kept on resume, repeats run once."""

from __future__ import annotations

import asyncio

import pytest
from mode.utils.queues import FlowControlQueue

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
    assert "p0 offsets 11..13 were never delivered" in caplog.text
