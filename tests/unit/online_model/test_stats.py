from __future__ import annotations

import random
import statistics

import pytest

from tickcast.online_model.stats import EWMA, Moments, Rolling


def test_rolling_moments_equal_a_recomputation_over_the_window() -> None:
    rng = random.Random(1)
    rolling = Rolling(Moments(), window=7)
    values = [rng.gauss(0, 1) for _ in range(100)]
    for i, value in enumerate(values):
        rolling.update(value)
        window = values[max(0, i - 6) : i + 1]
        assert rolling.stat.mean() == pytest.approx(statistics.fmean(window))
        if len(window) > 1:
            assert rolling.stat.std() == pytest.approx(statistics.stdev(window))


def test_rolling_rejects_empty_window() -> None:
    with pytest.raises(ValueError, match="window must be at least 1"):
        Rolling(Moments(), 0)


def test_ewma_seeds_with_first_value() -> None:
    ewma = EWMA(span=9)
    ewma.update(4.0)
    ewma.update(14.0)
    assert ewma.value == pytest.approx(4.0 + 0.2 * 10.0)
