from __future__ import annotations

import math
import random

import pytest
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from tickcast.online_model.intervals import ConformalInterval
from tickcast.online_model.metrics import ErrorStats, Metrics


def stream(n: int, seed: int = 5) -> list[tuple[float, float, float, float, float, float]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        y = rng.gauss(0, 1)
        yhat = 0.5 * y + rng.gauss(0, 1)
        p = 1 / (1 + math.exp(-yhat))
        rows.append((y, yhat, yhat - 1.5, yhat + 1.5, p, 0.1))
    return rows


def test_summary_matches_direct_computation() -> None:
    rows = stream(2000)
    stats = ErrorStats(level=0.9)
    for row in rows:
        stats.update(*row)
    s = stats.summary()
    ys = [r[0] for r in rows]
    errs = [r[1] - r[0] for r in rows]
    mean_y = sum(ys) / len(ys)
    assert s["mae"] == pytest.approx(sum(map(abs, errs)) / 2000)
    assert s["rmse"] == pytest.approx(math.sqrt(sum(e * e for e in errs) / 2000))
    assert s["bias"] == pytest.approx(sum(errs) / 2000)
    assert s["r2"] == pytest.approx(
        1 - sum(e * e for e in errs) / sum((y - mean_y) ** 2 for y in ys)
    )
    assert s["r2_oos"] == pytest.approx(
        1 - sum(e * e for e in errs) / sum((0.1 - y) ** 2 for y in ys)
    )
    assert s["mae_ratio_vs_random_walk"] == pytest.approx(sum(map(abs, errs)) / sum(map(abs, ys)))
    inside = [r[2] <= r[0] <= r[3] for r in rows]
    assert s["coverage"] == pytest.approx(sum(inside) / 2000)
    winkler = [
        3.0 + (20 * (r[2] - r[0]) if r[0] < r[2] else 20 * (r[0] - r[3]) if r[0] > r[3] else 0)
        for r in rows
    ]
    assert s["interval_score"] == pytest.approx(sum(winkler) / 2000)
    hits = [(r[1] > 0) == (r[0] > 0) for r in rows]
    assert s["hit_rate"] == pytest.approx(sum(hits) / 2000)
    auc = roc_auc_score([r[0] > 0 for r in rows], [r[4] for r in rows])
    assert s["roc_auc"] == pytest.approx(auc, abs=0.01)  # 50-bin histogram
    truth, said_up = [r[0] > 0 for r in rows], [r[4] > 0.5 for r in rows]
    assert s["precision"] == pytest.approx(precision_score(truth, said_up))
    assert s["recall"] == pytest.approx(recall_score(truth, said_up))
    assert s["f1"] == pytest.approx(f1_score(truth, said_up))


def test_rolling_metrics_equal_cumulative_metrics_of_the_window() -> None:
    rows = stream(500)
    metrics = Metrics(level=0.9, window=100)
    for row in rows:
        metrics.update(*row)
    direct = ErrorStats(level=0.9)
    for row in rows[-100:]:
        direct.update(*row)
    rolling, expected = metrics.recent.summary(), direct.summary()
    assert rolling.keys() == expected.keys()
    for key, value in expected.items():
        assert rolling[key] == pytest.approx(value, nan_ok=True, abs=1e-9), key


def test_zero_forecast_counts_half_a_hit_and_no_skill() -> None:
    stats = ErrorStats()
    for y in (1.0, -1.0, 2.0):
        stats.update(y, 0.0, -1.0, 1.0, 0.5, 0.0)
    summary = stats.summary()
    assert summary["hit_rate"] == 0.5
    assert summary["mae_ratio_vs_random_walk"] == 1.0
    assert stats.advantage() == 0.0


def test_conformal_interval_covers_at_the_nominal_level() -> None:
    rng = random.Random(2)
    interval = ConformalInterval(level=0.9, window=500)
    covered = 0
    for i in range(5000):
        score = abs(rng.gauss(0, 1)) * (3 if i % 7 == 0 else 1)
        covered += score <= interval.quantile() if i >= 500 else 0
        interval.update(score)
    assert 0.88 <= covered / 4500 <= 0.92


def test_conformal_uses_normal_prior_until_enough_scores() -> None:
    interval = ConformalInterval(level=0.9, window=100, min_scores=20)
    interval.update(100.0)
    assert interval.quantile() == pytest.approx(1.6449, abs=1e-4)


def test_a_zero_return_is_half_a_hit_and_no_direction_outcome() -> None:
    stats = ErrorStats(0.9)
    stats.update(0.0, 0.01, -0.1, 0.1, 0.9, 0.0)  # up forecast, no move
    stats.update(0.0, -0.01, -0.1, 0.1, 0.1, 0.0)  # down forecast, no move
    assert stats.hits == 1.0
    assert stats.tp + stats.fp + stats.fn + stats.tn == 0
    assert sum(stats.pos_bins) + sum(stats.neg_bins) == 0
