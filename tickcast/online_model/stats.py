"""Incremental statistics with ``update``/``revert``/getters, and one rolling wrapper for all.

Plain attributes and arithmetic only: every object pickles, costs O(1) per update and allocates
nothing but the window's slot.

>>> r = Rolling(Moments(), window=3)
>>> for x in [1.0, 2.0, 3.0, 4.0]:
...     r.update(x)
>>> r.stat.mean(), round(r.stat.std(), 6)
(3.0, 1.0)
"""

from __future__ import annotations

import math
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["EWMA", "Moments", "Revertible", "Rolling"]


class Revertible(Protocol):
    def update(self, *args: Any) -> None: ...
    def revert(self, *args: Any) -> None: ...


class Moments:
    """Count, mean and sample standard deviation from running sums."""

    __slots__ = ("n", "total", "total_sq")

    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.total_sq = 0.0

    def update(self, x: float) -> None:
        self.n += 1
        self.total += x
        self.total_sq += x * x

    def revert(self, x: float) -> None:
        self.n -= 1
        self.total -= x
        self.total_sq -= x * x

    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    def var(self) -> float:
        if self.n < 2:
            return 0.0
        mean = self.total / self.n
        return max((self.total_sq - self.n * mean * mean) / (self.n - 1), 0.0)

    def std(self) -> float:
        return math.sqrt(self.var())


S = TypeVar("S", bound=Revertible)


class Rolling(Generic[S]):
    """Keeps ``stat`` over the last ``window`` updates by reverting the oldest one."""

    __slots__ = ("_buffer", "_next", "stat", "window")

    def __init__(self, stat: S, window: int) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        self.stat = stat
        self.window = window
        self._buffer: list[tuple[Any, ...]] = []
        self._next = 0

    def update(self, *args: Any) -> None:
        if len(self._buffer) < self.window:
            self._buffer.append(args)
        else:
            self.stat.revert(*self._buffer[self._next])
            self._buffer[self._next] = args
            self._next = (self._next + 1) % self.window
        self.stat.update(*args)

    def __len__(self) -> int:
        return len(self._buffer)


class EWMA:
    """Exponentially weighted mean; the first value seeds it.

    >>> e = EWMA(span=3)
    >>> for x in [1.0, 2.0]:
    ...     e.update(x)
    >>> e.value
    1.5
    """

    __slots__ = ("alpha", "seeded", "value")

    def __init__(self, span: float) -> None:
        if span < 1:
            raise ValueError(f"span must be at least 1, got {span}")
        self.alpha = 2.0 / (span + 1.0)
        self.value = 0.0
        self.seeded = False

    def update(self, x: float) -> None:
        if self.seeded:
            self.value += self.alpha * (x - self.value)
        else:
            self.value = x
            self.seeded = True
