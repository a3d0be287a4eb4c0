from __future__ import annotations

import math
import pickle

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_ticks
from tickcast.online_model.features import FeatureState
from tickcast.records import Tick

DAY = 86_400_000


def test_lags_hold_the_latest_log_returns_in_order() -> None:
    state = FeatureState(windows=(3,))
    prices = [100.0, 110.0, 99.0, 105.0]
    x: list[float] = []
    for i, p in enumerate(prices):
        x = state.update(Tick("X", 1_700_000_000_000 + i * 1000, p))
    expected = [math.log(105 / 99), math.log(99 / 110), math.log(110 / 100)]
    assert x[:3] == expected
    names = state.names
    assert x[names.index("ret_mean_3")] == sum(expected) / 3


def test_calendar_features_encode_weekday_from_event_time() -> None:
    monday_noon = 1_699_876_800_000  # 2023-11-13T12:00:00Z
    x = FeatureState().update(Tick("X", monday_noon, 1.0))
    names = FeatureState().names
    assert x[names.index("dow_sin")] == 0.0  # Monday is phase 0
    assert abs(x[names.index("tod_cos")] - (-1.0)) < 1e-12  # noon is half a day


def test_range_and_volume_features_use_optional_fields() -> None:
    state = FeatureState()
    for i in range(25):
        x = state.update(Tick("X", 1_700_000_000_000 + i, 10.0, volume=100.0 + i, high=11, low=10))
    assert x[state.names.index("range")] == math.log(11 / 10)
    assert x[state.names.index("volume_z")] > 1.0  # the newest volume is the largest


def test_features_survive_pickling_mid_stream() -> None:
    ticks = make_ticks(60, symbols=1)
    a = FeatureState()
    for tick in ticks[:30]:
        a.update(tick)
    b = pickle.loads(pickle.dumps(a))
    assert [a.update(t) for t in ticks[30:]] == [b.update(t) for t in ticks[30:]]


prices = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(
    st.lists(st.tuples(prices, st.floats(0, 1e12), st.integers(1, DAY)), min_size=1, max_size=80)
)
def test_any_valid_tick_sequence_keeps_features_finite(
    rows: list[tuple[float, float, int]],
) -> None:
    state = FeatureState()
    ts = 1_700_000_000_000
    for price, volume, gap in rows:
        ts += gap
        x = state.update(Tick("X", ts, price, volume=volume, high=price * 1.01, low=price))
        assert all(math.isfinite(v) for v in x)
    assert math.isfinite(state.volatility)
