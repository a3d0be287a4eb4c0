"""Prequential forecast metrics: every forecast is scored once, when its label matures.

:class:`ErrorStats` keeps running sums and derives every figure from them on demand
(:meth:`ErrorStats.summary`). :class:`Metrics` updates one ErrorStats per outcome (the current
block) and folds each finished block into the cumulative sums and a window of recent blocks, so
a forecaster's cumulative and rolling metrics cost one update per outcome.

Conventions: error = forecast - realised (bias > 0 means over-forecasting); a hit is a forecast
whose sign matches the realised return, a zero forecast or a zero return counting half; the
direction metrics (precision, recall, F1, ROC AUC) read P(up) > 0.5 as "up" and leave out
outcomes whose return is exactly zero (neither up nor down); ROC AUC is estimated from a
histogram of P(up) in 50 bins (the backtest report computes it exactly from its outcomes).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

__all__ = ["ErrorStats", "Metrics"]

AUC_BINS = 50


def advantage(n: int, gain: float, gain2: float) -> float:
    if n < 2:
        return 0.0
    mean = gain / n
    var = (gain2 - n * mean * mean) / (n - 1)
    return mean / math.sqrt(var / n) if var > 1e-300 else 0.0


def shrinkage(yhat_y: float, yhat2: float) -> float:
    if yhat2 <= 0:
        return 0.0
    return min(max(yhat_y / yhat2, 0.0), 1.0)


class ErrorStats:
    __slots__ = (
        "abs_err",
        "abs_rw",
        "alpha",
        "covered",
        "err",
        "fn",
        "fp",
        "gain",
        "gain2",
        "hits",
        "n",
        "neg_bins",
        "pos_bins",
        "sq_err",
        "sq_err_mean",
        "tn",
        "tp",
        "winkler",
        "y",
        "y2",
        "yhat2",
        "yhat_y",
    )  # fmt: skip

    def __init__(self, level: float = 0.9) -> None:
        self.alpha = 1.0 - level
        self.n = 0
        self.abs_err = self.sq_err = self.err = self.y = self.y2 = 0.0
        self.sq_err_mean = self.abs_rw = self.hits = self.winkler = 0.0
        self.yhat_y = self.yhat2 = self.gain = self.gain2 = 0.0
        self.covered = self.tp = self.fp = self.fn = self.tn = 0
        self.pos_bins = [0] * AUC_BINS
        self.neg_bins = [0] * AUC_BINS

    def update(
        self, y: float, yhat: float, lo: float, hi: float, p_up: float, mean_fc: float
    ) -> None:
        """Score one outcome: y realised, yhat forecast, [lo, hi] interval, mean_fc reference."""
        e = yhat - y
        abs_e = e if e >= 0 else -e
        abs_y = y if y >= 0 else -y
        gain = abs_y - abs_e  # how much closer than the random walk
        self.n += 1
        self.abs_err += abs_e
        self.sq_err += e * e
        self.err += e
        self.y += y
        self.y2 += y * y
        self.sq_err_mean += (mean_fc - y) * (mean_fc - y)
        self.abs_rw += abs_y
        self.gain += gain
        self.gain2 += gain * gain
        self.hits += 0.5 if yhat == 0 or y == 0 else float((yhat > 0) == (y > 0))
        self.yhat_y += yhat * y
        self.yhat2 += yhat * yhat
        width = hi - lo
        if y < lo:
            width += 2.0 / self.alpha * (lo - y)
        elif y > hi:
            width += 2.0 / self.alpha * (y - hi)
        else:
            self.covered += 1
        self.winkler += width
        if y == 0:
            return  # neither up nor down: no direction outcome
        up = y > 0
        if p_up > 0.5:
            if up:
                self.tp += 1
            else:
                self.fp += 1
        elif up:
            self.fn += 1
        else:
            self.tn += 1
        b = min(int(p_up * AUC_BINS), AUC_BINS - 1) if p_up > 0 else 0
        if up:
            self.pos_bins[b] += 1
        else:
            self.neg_bins[b] += 1

    def merge(self, other: ErrorStats, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` remove) another set of sums: blocks, pooled symbols."""
        for name in self.__slots__:
            if name == "alpha":
                continue
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                setattr(self, name, [a + sign * b for a, b in zip(mine, theirs, strict=True)])
            else:
                setattr(self, name, mine + sign * theirs)

    def plus(self, other: ErrorStats) -> ErrorStats:
        """A new ErrorStats holding both sets of sums."""
        total = ErrorStats(1.0 - self.alpha)
        total.merge(self)
        total.merge(other)
        return total

    def mae(self) -> float:
        return self.abs_err / self.n if self.n else math.nan

    def advantage(self) -> float:
        """t-statistic of the mean gain in absolute error over the random walk (paired)."""
        return advantage(self.n, self.gain, self.gain2)

    def shrinkage(self) -> float:
        """Least-squares slope of realised on forecast, within [0, 1]: how far to trust it."""
        return shrinkage(self.yhat_y, self.yhat2)

    def roc_auc(self) -> float:
        pos, neg = sum(self.pos_bins), sum(self.neg_bins)
        if not pos or not neg:
            return math.nan
        area, neg_below = 0.0, 0
        for p, q in zip(self.pos_bins, self.neg_bins, strict=True):
            area += p * (neg_below + 0.5 * q)
            neg_below += q
        return area / (pos * neg)

    def summary(self, n_inputs: int = 0) -> dict[str, float]:
        """Every figure derived from the sums; NaN where undefined (too few outcomes).
        ``n_inputs``: how many inputs the forecaster fits, adjusted R2's penalty."""
        n = self.n
        if n == 0:
            return {"n": 0}
        nan = math.nan
        sst = self.y2 - self.y * self.y / n
        r2 = 1.0 - self.sq_err / sst if sst > 0 else nan
        dof = n - n_inputs - 1
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else nan
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else nan
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision == precision and recall == recall and precision + recall > 0
            else nan
        )
        return {
            "n": n,
            "mae": self.abs_err / n,
            "mse": self.sq_err / n,
            "rmse": math.sqrt(self.sq_err / n),
            "r2": r2,
            "adj_r2": 1.0 - (1.0 - r2) * (n - 1) / dof if dof > 0 and r2 == r2 else nan,
            "r2_oos": 1.0 - self.sq_err / self.sq_err_mean if self.sq_err_mean > 0 else nan,
            "mae_ratio_vs_random_walk": self.abs_err / self.abs_rw if self.abs_rw > 0 else nan,
            "hit_rate": self.hits / n,
            "coverage": self.covered / n,
            "interval_score": self.winkler / n,
            "bias": self.err / n,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "roc_auc": self.roc_auc(),
        }


class Metrics:
    """Cumulative and rolling :class:`ErrorStats` of one forecaster, one update per outcome.

    The rolling window is the last ``blocks`` finished blocks of ``window // blocks`` outcomes
    plus the current, unfinished block: between ``window`` and ``window + block`` outcomes.

    >>> m = Metrics(level=0.9, window=4, blocks=2)
    >>> for y in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]:
    ...     _ = m.update(y, 0.0, -1.0, 1.0, 0.5, 0.0)
    >>> m.cumulative.n, m.recent.n, m.recent.mae()
    (7, 5, 5.0)
    """

    __slots__ = ("block", "blocks", "closed", "current", "finished", "level", "recent_closed")

    def __init__(self, level: float, window: int, blocks: int = 10) -> None:
        self.level = level
        self.blocks = blocks
        self.block = max(1, window // blocks)
        self.current = ErrorStats(level)
        self.closed = ErrorStats(level)  # every finished block
        self.recent_closed = ErrorStats(level)  # the last ``blocks`` finished blocks
        self.finished: deque[ErrorStats] = deque()

    def update(
        self, y: float, yhat: float, lo: float, hi: float, p_up: float, mean_fc: float
    ) -> bool:
        """Score one outcome; True when it finished a block (the rolling window moved)."""
        current = self.current
        current.update(y, yhat, lo, hi, p_up, mean_fc)
        if current.n < self.block:
            return False
        self.closed.merge(current)
        self.recent_closed.merge(current)
        self.finished.append(current)
        if len(self.finished) > self.blocks:
            self.recent_closed.merge(self.finished.popleft(), sign=-1)
        self.current = ErrorStats(self.level)
        return True

    @property
    def cumulative(self) -> ErrorStats:
        return self.closed.plus(self.current)

    @property
    def recent(self) -> ErrorStats:
        return self.recent_closed.plus(self.current)

    def recent_selection(self) -> tuple[int, float, float]:
        """(n, advantage, shrinkage) over the rolling window, without building it."""
        a, b = self.recent_closed, self.current
        n = a.n + b.n
        return (
            n,
            advantage(n, a.gain + b.gain, a.gain2 + b.gain2),
            shrinkage(a.yhat_y + b.yhat_y, a.yhat2 + b.yhat2),
        )

    def summaries(self, n_inputs: int = 0) -> dict[str, dict[str, Any]]:
        return {
            "rolling": self.recent.summary(n_inputs),
            "cumulative": self.cumulative.summary(n_inputs),
        }
