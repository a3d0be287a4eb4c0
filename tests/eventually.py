"""Waiting for something to happen, the one way the tests wait: ask until it is true or a
deadline passes, then fail saying what never came (never a fixed sleep standing in for a wait).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
EVERY_S = 0.05


def eventually(
    probe: Callable[[], T],
    timeout: float = 30.0,
    what: str | Callable[[], str] = "the condition",
    every: float = EVERY_S,
) -> T:
    """The first truthy answer of ``probe``, asked every ``every`` seconds; AssertionError
    naming ``what`` (a text, or a function that describes the state) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"never came within {timeout:g} s: {described}")
        time.sleep(every)
    return found


async def eventually_async(
    probe: Callable[[], T | Awaitable[T]],
    timeout: float = 30.0,
    what: str = "the condition",
    every: float = EVERY_S,
) -> T:
    """:func:`eventually` for a test's event loop (the loop runs while it waits)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if isinstance(found, Awaitable):
            found = await found
        if found:
            return found  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"never came within {timeout:g} s: {what}")
        await asyncio.sleep(every)


def pause(seconds: float, why: str) -> None:
    """Keep a staged condition for ``seconds`` (an outage that lasts, a producer's pace, a
    steady state to sample): what the test stages, never a wait for something to happen
    (:func:`eventually` is that). ``why`` says which, where the call is read."""
    assert why
    time.sleep(seconds)
