"""Features, from each tick's own fields and event time (the compiled core's, seen from here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_ticks
from tickcast._core import feature_stream
from tickcast.online_model import CoreConfig
from tickcast.records import Tick, parse_ts

DAY = 86_400_000


def features(ticks: list[Tick], windows: tuple[int, ...] = (5, 20)) -> tuple[list[str], np.ndarray]:
    config = CoreConfig(windows=windows)
    rows = feature_stream(config.spec, ticks)
    return config.feature_names, np.array([x for x, _ in rows])


def test_lags_hold_the_latest_log_returns_in_order() -> None:
    prices = [100.0, 110.0, 99.0, 105.0]
    ticks = [Tick("X", 1_700_000_000_000 + i * 1000, p) for i, p in enumerate(prices)]
    names, x = features(ticks, windows=(3,))
    expected = [math.log(105 / 99), math.log(99 / 110), math.log(110 / 100)]
    assert list(x[-1, :3]) == expected
    assert x[-1, names.index("ret_mean_3")] == sum(expected) / 3


def test_rolling_means_and_deviations_match_numpy_over_the_window() -> None:
    """An oracle: the O(1) running sums against pandas' rolling windows on a fixed stream."""
    ticks = make_ticks(400, symbols=1)
    names, x = features(ticks)
    returns = pd.Series(np.diff(np.log([t.price for t in ticks])))
    for w in (5, 20):
        mean = returns.rolling(w, min_periods=1).mean().to_numpy()
        std = returns.rolling(w, min_periods=2).std().fillna(0.0).to_numpy()
        np.testing.assert_allclose(x[1:, names.index(f"ret_mean_{w}")], mean, atol=1e-15)
        np.testing.assert_allclose(x[1:, names.index(f"ret_std_{w}")], std, atol=1e-12)


def test_the_scaler_standardises_like_numpy_over_everything_seen() -> None:
    """An oracle: Welford's running mean and variance against NumPy's, tick by tick."""
    ticks = make_ticks(300, symbols=1)
    rows = feature_stream(CoreConfig().spec, ticks)
    x = np.array([r[0] for r in rows])
    z = np.array([r[1] for r in rows])
    for k in (50, 299):
        seen = x[: k + 1]
        std = seen.std(axis=0)
        expected = np.where(
            std**2 > 1e-24, (seen[-1] - seen.mean(axis=0)) / np.where(std > 0, std, 1), 0.0
        )
        np.testing.assert_allclose(z[k], expected, atol=1e-9)


def test_calendar_features_encode_weekday_from_event_time() -> None:
    monday_noon = 1_699_876_800_000  # 2023-11-13T12:00:00Z
    names, x = features([Tick("X", monday_noon, 1.0)])
    assert x[0, names.index("dow_sin")] == 0.0  # Monday is phase 0
    assert abs(x[0, names.index("tod_cos")] - (-1.0)) < 1e-12  # noon is half a day


def test_calendar_features_before_1970_count_days_forward() -> None:
    monday_1928 = parse_ts("1928-01-02T12:00:00Z")  # a Monday, 42 years before the epoch
    names, x = features([Tick("X", monday_1928, 1.0)])
    assert abs(x[0, names.index("dow_sin")]) < 1e-12
    assert abs(x[0, names.index("tod_cos")] - (-1.0)) < 1e-12


def test_range_and_volume_features_use_optional_fields() -> None:
    ticks = [
        Tick("X", 1_700_000_000_000 + i, 10.0, volume=100.0 + i, high=11, low=10) for i in range(25)
    ]
    names, x = features(ticks)
    assert x[-1, names.index("range")] == math.log(11 / 10)
    assert x[-1, names.index("volume_z")] > 1.0  # the newest volume is the largest


prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(prices, st.floats(0, 1e12), st.integers(1, DAY)), min_size=1, max_size=80)
)
def test_any_valid_tick_sequence_keeps_features_finite(
    rows: list[tuple[float, float, int]],
) -> None:
    ts, ticks = 1_700_000_000_000, []
    for price, volume, gap in rows:
        ts += gap
        ticks.append(Tick("X", ts, price, volume=volume, high=price * 1.01, low=price))
    _, x = features(ticks)
    assert np.isfinite(x).all()
