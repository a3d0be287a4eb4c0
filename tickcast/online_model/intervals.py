"""Online conformal prediction intervals on volatility-scaled residuals.

The nonconformity score of a matured forecast is ``|y - y_hat| / sigma``, with ``sigma`` the
running volatility when the forecast was made. The interval half-width is the conformal
quantile of the last ``window`` scores times the current ``sigma``: calibrated because the
quantile is taken over past scores, sharp because ``sigma`` narrows it where the market is calm.
Until ``min_scores`` scores exist, the normal quantile stands in.

>>> c = ConformalInterval(level=0.5, window=4, min_scores=4)
>>> for s in [0.1, 0.2, 0.3, 0.4]:
...     c.update(s)
>>> c.quantile()
0.3
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, insort
from collections import deque
from statistics import NormalDist

__all__ = ["ConformalInterval"]


class ConformalInterval:
    def __init__(self, level: float = 0.9, window: int = 500, min_scores: int = 20) -> None:
        if not 0 < level < 1:
            raise ValueError(f"level must be within (0, 1), got {level}")
        self.level = level
        self.window = window
        self.min_scores = min_scores
        self.prior = NormalDist().inv_cdf(0.5 + level / 2.0)
        self.order: deque[float] = deque()
        self.sorted: list[float] = []

    def __getstate__(self) -> dict[str, object]:
        """Pickle the scores once, in arrival order; the sorted copy is rebuilt on load."""
        state = dict(self.__dict__)
        state["order"] = array("d", self.order)
        del state["sorted"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.order = deque(self.order)
        self.sorted = sorted(self.order)

    def update(self, score: float) -> None:
        """Add one nonconformity score, dropping the oldest beyond the window."""
        if not math.isfinite(score):
            return
        if len(self.order) == self.window:
            oldest = self.order.popleft()
            del self.sorted[bisect_left(self.sorted, oldest)]
        self.order.append(score)
        insort(self.sorted, score)

    def quantile(self) -> float:
        """The finite-sample conformal quantile of the scores (normal prior while few)."""
        n = len(self.sorted)
        if n < self.min_scores:
            return self.prior
        k = math.ceil((n + 1) * self.level) - 1
        return self.sorted[min(k, n - 1)]
