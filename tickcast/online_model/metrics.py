"""Prequential forecast metrics: every forecast is scored once, when its label matures.

:class:`ErrorStats` keeps running sums (``update``/``revert``), so one class serves the
cumulative metrics and, wrapped in :class:`~tickcast.online_model.stats.Rolling`, the rolling
ones. :meth:`ErrorStats.summary` derives every figure from the sums on demand.

Conventions: error = forecast - realised (bias > 0 means over-forecasting); a hit is a forecast
whose sign matches the realised return, a zero forecast counting half; the direction metrics
read P(up) > 0.5 as "up"; ROC AUC comes from a histogram of P(up) in 50 bins.
"""

from __future__ import annotations

import math
from typing import Any

from tickcast.online_model.stats import Rolling

__all__ = ["ErrorStats", "Metrics"]

AUC_BINS = 50


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

    def _add(
        self, y: float, yhat: float, lo: float, hi: float, p_up: float, mean_fc: float, sign: int
    ) -> None:
        e = yhat - y
        self.n += sign
        self.abs_err += sign * abs(e)
        self.sq_err += sign * e * e
        self.err += sign * e
        self.y += sign * y
        self.y2 += sign * y * y
        self.sq_err_mean += sign * (mean_fc - y) ** 2
        self.abs_rw += sign * abs(y)
        gain = abs(y) - abs(e)  # how much closer than the random walk
        self.gain += sign * gain
        self.gain2 += sign * gain * gain
        self.hits += sign * (0.5 if yhat == 0 else float((yhat > 0) == (y > 0)))
        self.yhat_y += sign * yhat * y
        self.yhat2 += sign * yhat * yhat
        width = hi - lo
        if y < lo:
            width += 2.0 / self.alpha * (lo - y)
        elif y > hi:
            width += 2.0 / self.alpha * (y - hi)
        else:
            self.covered += sign
        self.winkler += sign * width
        up = y > 0
        if p_up > 0.5:
            if up:
                self.tp += sign
            else:
                self.fp += sign
        elif up:
            self.fn += sign
        else:
            self.tn += sign
        b = min(int(p_up * AUC_BINS), AUC_BINS - 1) if p_up > 0 else 0
        if up:
            self.pos_bins[b] += sign
        else:
            self.neg_bins[b] += sign

    def update(
        self, y: float, yhat: float, lo: float, hi: float, p_up: float, mean_fc: float
    ) -> None:
        self._add(y, yhat, lo, hi, p_up, mean_fc, 1)

    def revert(
        self, y: float, yhat: float, lo: float, hi: float, p_up: float, mean_fc: float
    ) -> None:
        self._add(y, yhat, lo, hi, p_up, mean_fc, -1)

    def merge(self, other: ErrorStats) -> None:
        """Add another forecaster's sums into these (pooling symbols)."""
        for name in self.__slots__:
            if name == "alpha":
                continue
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                setattr(self, name, [a + b for a, b in zip(mine, theirs, strict=True)])
            else:
                setattr(self, name, mine + theirs)

    def mae(self) -> float:
        return self.abs_err / self.n if self.n else math.nan

    def advantage(self) -> float:
        """t-statistic of the mean gain in absolute error over the random walk (paired)."""
        n = self.n
        if n < 2:
            return 0.0
        mean = self.gain / n
        var = (self.gain2 - n * mean * mean) / (n - 1)
        return mean / math.sqrt(var / n) if var > 1e-300 else 0.0

    def shrinkage(self) -> float:
        """Least-squares slope of realised on forecast, within [0, 1]: how far to trust it."""
        if self.yhat2 <= 0:
            return 0.0
        return min(max(self.yhat_y / self.yhat2, 0.0), 1.0)

    def roc_auc(self) -> float:
        pos, neg = sum(self.pos_bins), sum(self.neg_bins)
        if not pos or not neg:
            return math.nan
        area, neg_below = 0.0, 0
        for p, q in zip(self.pos_bins, self.neg_bins, strict=True):
            area += p * (neg_below + 0.5 * q)
            neg_below += q
        return area / (pos * neg)

    def summary(self, n_features: int = 0) -> dict[str, float]:
        """Every figure derived from the sums; NaN where undefined (too few outcomes)."""
        n = self.n
        if n == 0:
            return {"n": 0}
        nan = math.nan
        sst = self.y2 - self.y * self.y / n
        r2 = 1.0 - self.sq_err / sst if sst > 0 else nan
        dof = n - n_features - 1
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
    """Cumulative and rolling :class:`ErrorStats` of one forecaster, updated together."""

    __slots__ = ("cumulative", "rolling")

    def __init__(self, level: float, window: int) -> None:
        self.cumulative = ErrorStats(level)
        self.rolling: Rolling[ErrorStats] = Rolling(ErrorStats(level), window)

    def update(
        self, y: float, yhat: float, lo: float, hi: float, p_up: float, mean_fc: float
    ) -> None:
        self.cumulative.update(y, yhat, lo, hi, p_up, mean_fc)
        self.rolling.update(y, yhat, lo, hi, p_up, mean_fc)

    @property
    def recent(self) -> ErrorStats:
        return self.rolling.stat

    def summaries(self, n_features: int = 0) -> dict[str, dict[str, Any]]:
        return {
            "rolling": self.recent.summary(n_features),
            "cumulative": self.cumulative.summary(n_features),
        }
