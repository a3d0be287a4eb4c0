"""The event loop's stalls, measured from inside: a short sleep that wakes up late.

A step that holds the loop (a cut, an acknowledgement of thousands of events, a blocking call)
delays every forecast behind it, so the worker keeps the longest stall since its first batch
and logs it at stop (``bench/latency.py`` reads that line); each stall goes to the
``tickcast_event_loop_stall_seconds`` histogram too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tickcast.monitor.prometheus import EVENT_LOOP_STALL

__all__ = ["LoopWatch"]

PROBE_S = 0.005


class LoopWatch:
    """The longest stall of the running loop since :meth:`reset`, in seconds."""

    def __init__(self, probe_s: float = PROBE_S) -> None:
        self.probe_s = probe_s
        self.longest = 0.0
        self.probes = 0

    def reset(self) -> None:
        self.longest, self.probes = 0.0, 0

    async def run(self, stopped: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while not stopped():
            before = loop.time()
            await asyncio.sleep(self.probe_s)
            stall = max(0.0, loop.time() - before - self.probe_s)
            EVENT_LOOP_STALL.observe(stall)
            self.longest = max(self.longest, stall)
            self.probes += 1

    def summary(self) -> str:
        return f"event loop: longest stall {self.longest * 1000:.1f} ms over {self.probes} probes"
