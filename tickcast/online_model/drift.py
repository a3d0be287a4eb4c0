"""Drift detectors, pure and deterministic: part of each symbol's state, so they replay and
recover like the models do.

- Concept drift: Page-Hinkley on each forecaster's absolute error in volatility units (the
  conformal score), so one threshold fits every symbol and bar size.
- Data drift: PSI with a KS check of each feature against a reference window, on the
  reference's quantile bins (a few counts per feature, no raw values kept).
- Prediction drift: the same on the served forecast.
- Bias: the served forecast's rolling mean signed error, as a t-statistic.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from dataclasses import dataclass

__all__ = [
    "DETECTORS",
    "REACTIONS",
    "Adwin",
    "DriftConfig",
    "DriftEvent",
    "DriftMonitor",
    "PageHinkley",
    "Shift",
    "ks_pvalue",
    "psi",
]


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """One detection; ``reaction`` says what the learner did about it."""

    symbol: str
    ts: int
    model: str  # the forecaster, or "" for data drift
    detector: str  # page_hinkley | psi_ks | bias_t
    kind: str  # concept | data | prediction | bias
    feature: str  # abs_error, a feature name, served_return, signed_error
    value: float
    threshold: float
    reaction: str  # log | reset | boost_lr


class PageHinkley:
    """Page-Hinkley test for an increase in a stream's mean; resets itself after a detection.

    The cumulative excess over the running mean (less ``delta``) drifts down while nothing
    changes; an increase of the mean by more than ``delta`` makes it climb, and a climb of
    ``threshold`` above its minimum is a detection.
    """

    __slots__ = ("cum", "delta", "low", "mean", "min_n", "n", "threshold")

    def __init__(self, delta: float = 0.05, threshold: float = 50.0, min_n: int = 100) -> None:
        self.delta = delta
        self.threshold = threshold
        self.min_n = min_n
        self.n = 0
        self.mean = 0.0
        self.cum = 0.0
        self.low = 0.0

    def update(self, x: float) -> float | None:
        """Add one value; the statistic when it crosses the threshold, else None."""
        self.n += 1
        self.mean += (x - self.mean) / self.n
        self.cum += x - self.mean - self.delta
        if self.cum < self.low:
            self.low = self.cum
        statistic = self.cum - self.low
        if self.n >= self.min_n and statistic > self.threshold:
            self.n, self.mean, self.cum, self.low = 0, 0.0, 0.0, 0.0
            return statistic
        return None


class Adwin:
    """River's ADWIN with the detectors' interface: the new mean estimate on a detection."""

    __slots__ = ("delta", "detector")

    def __init__(self, delta: float = 0.002) -> None:
        from river.drift import ADWIN

        self.delta = delta
        self.detector = ADWIN(delta=delta)  # type: ignore[no-untyped-call]

    def update(self, x: float) -> float | None:
        self.detector.update(x)  # type: ignore[no-untyped-call]
        return float(self.detector.estimation) if self.detector.drift_detected else None


class Shift:
    """A stream's distribution against a reference window, on the reference's quantile bins.

    The first ``window`` values are the reference; afterwards a ring of the last ``window`` bin
    indexes is compared with it. After a detection the current window becomes the reference,
    so one shift is one event.
    """

    def __init__(self, window: int = 500, bins: int = 10) -> None:
        self.window = window
        self.bins = bins
        self.reference_values: list[float] | None = []
        self.edges: list[float] = []
        self.reference = [0] * bins
        self.counts = [0] * bins
        self.ring = array("b")
        self.pos = 0

    def update(self, x: float) -> None:
        if self.reference_values is not None:
            self.reference_values.append(x)
            if len(self.reference_values) == self.window:
                self._set_reference(self.reference_values)
            return
        b = bisect_right(self.edges, x)
        ring = self.ring
        if len(ring) < self.window:
            ring.append(b)
        else:
            self.counts[ring[self.pos]] -= 1
            ring[self.pos] = b
            self.pos = (self.pos + 1) % self.window
        self.counts[b] += 1

    def _set_reference(self, values: list[float]) -> None:
        ordered = sorted(values)
        n = len(ordered)
        self.edges = [ordered[n * k // self.bins] for k in range(1, self.bins)]
        for v in ordered:
            self.reference[bisect_right(self.edges, v)] += 1
        self.reference_values = None

    def check(self) -> tuple[float, float] | None:
        """(PSI, KS p-value) once the current window is full, else None."""
        if self.reference_values is not None or len(self.ring) < self.window:
            return None
        return psi(self.reference, self.counts), ks_pvalue(self.reference, self.counts)

    def rebase(self) -> None:
        """Take the current window as the new reference."""
        self.reference = list(self.counts)


def psi(expected: list[int], actual: list[int]) -> float:
    """Population stability index of two binned samples (half a count added to each bin)."""
    n_e, n_a = sum(expected) + 0.5 * len(expected), sum(actual) + 0.5 * len(actual)
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        p, q = (e + 0.5) / n_e, (a + 0.5) / n_a
        total += (q - p) * math.log(q / p)
    return total


def ks_pvalue(expected: list[int], actual: list[int]) -> float:
    """Two-sample Kolmogorov-Smirnov p-value (asymptotic), the CDFs compared at bin edges."""
    n, m = sum(expected), sum(actual)
    if not n or not m:
        return 1.0
    ce = ca = 0
    d = 0.0
    for e, a in zip(expected, actual, strict=True):
        ce, ca = ce + e, ca + a
        d = max(d, abs(ce / n - ca / m))
    lam = d * math.sqrt(n * m / (n + m))
    if lam < 0.2:
        return 1.0
    series = math.fsum((-1.0) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return max(0.0, min(1.0, 2.0 * series))


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds and the reaction to concept drift (see :class:`DriftMonitor`)."""

    reaction: str = "log"  # log | reset | boost_lr
    detector: str = "page_hinkley"  # of concept drift: page_hinkley | adwin
    ph_delta: float = 0.05
    ph_threshold: float = 50.0
    adwin_delta: float = 0.002
    window: int = 500  # reference and current window of the data and prediction checks
    psi: float = 0.25  # PSI above this, with a KS p-value below ks_p, is a shift
    ks_p: float = 0.001
    bias_t: float = 4.0
    sample: int = 5  # features enter the data check every this many ticks
    boost: float = 3.0  # boost_lr: learning rate factor ...
    boost_labels: int = 500  # ... for this many labels


REACTIONS = ("log", "reset", "boost_lr")
DETECTORS = ("page_hinkley", "adwin")


CALENDAR = ("tod_", "dow_")  # features that move with the clock by design: not checked


class DriftMonitor:
    """A symbol's detectors: one Page-Hinkley per forecaster, one Shift per (non-calendar)
    feature and one for the served prediction, and the bias state."""

    def __init__(self, forecasters: list[str], features: list[str], config: DriftConfig) -> None:
        self.config = config
        self.forecasters = forecasters
        self.checked = [i for i, name in enumerate(features) if not name.startswith(CALENDAR)]
        self.features = [features[i] for i in self.checked]
        self.errors = [self._detector() for _ in forecasters]
        self.inputs = [Shift(config.window) for _ in self.features]
        self.prediction = Shift(config.window)
        self.biased = False
        self.seen = 0

    def without_config(self) -> DriftMonitor:
        """A shallow copy without the configuration, for the state codec (see SymbolState)."""
        copy = DriftMonitor.__new__(DriftMonitor)
        copy.__dict__.update({k: v for k, v in self.__dict__.items() if k != "config"})
        return copy

    def _detector(self) -> PageHinkley | Adwin:
        config = self.config
        if config.detector == "adwin":
            return Adwin(config.adwin_delta)
        return PageHinkley(config.ph_delta, config.ph_threshold)

    @property
    def threshold(self) -> float:
        """What the concept detector's statistic is compared with, for the event record."""
        config = self.config
        return config.adwin_delta if config.detector == "adwin" else config.ph_threshold

    def on_features(self, x: list[float]) -> None:
        self.seen += 1
        if self.seen % self.config.sample == 0:
            for shift, i in zip(self.inputs, self.checked, strict=True):
                shift.update(x[i])

    def shifts(self) -> list[tuple[str, str, float]]:
        """(kind, feature, PSI) of every input or prediction that shifted; rebases them."""
        found = []
        named = [*zip(self.features, self.inputs, strict=True), ("served_return", self.prediction)]
        for feature, shift in named:
            checked = shift.check()
            if checked is None:
                continue
            value, p = checked
            if value > self.config.psi and p < self.config.ks_p:
                shift.rebase()
                kind = "prediction" if shift is self.prediction else "data"
                found.append((kind, feature, value))
        return found

    def bias(self, mean: float, rmse: float, n: int) -> float | None:
        """The served forecast's bias t-statistic when it first exceeds the threshold (it must
        fall below half of it before it counts again)."""
        if n < 30 or not rmse > 0:
            return None
        t = mean / (rmse / math.sqrt(n))
        if self.biased:
            self.biased = abs(t) >= self.config.bias_t / 2
            return None
        if abs(t) >= self.config.bias_t:
            self.biased = True
            return t
        return None
