"""Per-symbol features, updated incrementally from each tick's own fields and event time.

All arithmetic is plain and O(1): running sums over ring buffers and exponential averages, so a
tick costs a few microseconds, and the state pickles into the symbol's table entry. The feature
vector is a list in :attr:`FeatureState.names` order (no per-tick dict building).
"""

from __future__ import annotations

import math

from tickcast.online_model.stats import EWMA, Moments, Rolling
from tickcast.records import Tick

__all__ = ["FeatureState", "feature_names"]

DAY_MS = 86_400_000
WEEK_DAYS = 7
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0
TAU = 2.0 * math.pi
N_LAGS = 3
EMA_SPANS = (12, 26)
RSI_PERIOD = 14
VOLUME_WINDOW = 20
VOL_SPAN = 20  # the running volatility that scales intervals


def feature_names(windows: tuple[int, ...]) -> list[str]:
    """Names of the feature vector for the given rolling windows, in vector order."""
    names = [f"ret_lag{i + 1}" for i in range(N_LAGS)]
    for w in windows:
        names += [f"ret_mean_{w}", f"ret_std_{w}"]
    names += [f"ema_gap_{span}" for span in EMA_SPANS]
    names += ["rsi", "volume_z", "range", "tod_sin", "tod_cos", "dow_sin", "dow_cos"]
    return names


class FeatureState:
    """Everything a symbol's features need from its past ticks.

    >>> from tickcast.records import Tick
    >>> f = FeatureState(windows=(3,))
    >>> x = f.update(Tick("AAPL", 1_700_000_000_000, 100.0))
    >>> x = f.update(Tick("AAPL", 1_700_000_060_000, 101.0))
    >>> round(f.last_return, 6), len(x) == len(f.names)
    (0.00995, True)
    """

    def __init__(self, windows: tuple[int, ...] = (5, 20)) -> None:
        if not windows or any(w < 2 for w in windows):
            raise ValueError(f"windows must be at least 2 ticks each, got {windows}")
        self.windows = tuple(windows)
        self.names = feature_names(self.windows)
        self.n_ticks = 0
        self.last_price = 0.0
        self.last_return = 0.0
        self.lags = [0.0] * N_LAGS
        self.returns = [Rolling(Moments(), w) for w in self.windows]
        self.emas = [EWMA(span) for span in EMA_SPANS]
        self.gain = EWMA(2 * RSI_PERIOD - 1)  # Wilder's smoothing as an EMA
        self.loss = EWMA(2 * RSI_PERIOD - 1)
        self.volume = Rolling(Moments(), VOLUME_WINDOW)
        self.variance = EWMA(VOL_SPAN)

    @property
    def volatility(self) -> float:
        """Running standard deviation of one-tick log returns (0 before the first return)."""
        return math.sqrt(self.variance.value)

    def update(self, tick: Tick) -> list[float]:
        """Fold ``tick`` into the state and return the feature vector as of this tick."""
        price = tick.price
        if self.n_ticks:
            r = math.log(price / self.last_price)
            self.lags.insert(0, r)
            self.lags.pop()
            for rolling in self.returns:
                rolling.update(r)
            self.gain.update(r if r > 0 else 0.0)
            self.loss.update(-r if r < 0 else 0.0)
            self.variance.update(r * r)
            self.last_return = r
        self.n_ticks += 1
        self.last_price = price
        for ema in self.emas:
            ema.update(price)
        volume_z = 0.0
        if tick.volume is not None:
            v = math.log1p(tick.volume)
            moments = self.volume.stat
            if moments.n >= 2:
                std = moments.std()
                volume_z = (v - moments.mean()) / std if std > 0 else 0.0
            self.volume.update(v)
        x = list(self.lags)
        for rolling in self.returns:
            moments = rolling.stat
            x.append(moments.mean())
            x.append(moments.std())
        for ema in self.emas:
            x.append(math.log(price / ema.value))
        total = self.gain.value + self.loss.value
        x.append((self.gain.value - self.loss.value) / total if total > 0 else 0.0)
        x.append(volume_z)
        high, low = tick.high, tick.low
        x.append(math.log(high / low) if high and low else 0.0)
        day_phase = TAU * (tick.ts % DAY_MS) / DAY_MS
        week_phase = TAU * ((tick.ts // DAY_MS + EPOCH_WEEKDAY) % WEEK_DAYS) / WEEK_DAYS
        x.append(math.sin(day_phase))
        x.append(math.cos(day_phase))
        x.append(math.sin(week_phase))
        x.append(math.cos(week_phase))
        return x
