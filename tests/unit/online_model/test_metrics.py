"""Prequential metrics, checked against NumPy and scikit-learn on the outcomes the core emits,
and the intervals' calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, log_loss, precision_score, recall_score, roc_auc_score

from tests.conftest import make_ticks
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.model_specs import resolve_models

LEVEL = 0.9


def scored(n: int = 3000, **config: object) -> tuple[SymbolState, pd.DataFrame]:
    state = SymbolState("SYN000", CoreConfig(**config))  # type: ignore[arg-type]
    outcomes = [o for tick in make_ticks(n, symbols=1, ar=0.3) for o in state.step(tick).outcomes]
    return state, pd.DataFrame(outcomes)


def oracle(frame: pd.DataFrame, weights: np.ndarray) -> dict[str, float]:
    """The metrics' definitions, with NumPy and scikit-learn, weighted."""
    w = weights / weights.sum()
    y, yhat = frame.realised_return.to_numpy(), frame.predicted_return.to_numpy()
    lo, hi = frame.lower_return.to_numpy(), frame.upper_return.to_numpy()
    err = yhat - y
    alpha = 1 - LEVEL
    winkler = (hi - lo) + 2 / alpha * (np.maximum(lo - y, 0) + np.maximum(y - hi, 0))
    hits = np.where((yhat == 0) | (y == 0), 0.5, (np.sign(yhat) == np.sign(y)).astype(float))
    return {
        "mae": float(np.sum(w * np.abs(err))),
        "rmse": float(np.sqrt(np.sum(w * err**2))),
        "bias": float(np.sum(w * err)),
        "coverage": float(np.sum(w * ((lo <= y) & (y <= hi)))),
        "interval_score": float(np.sum(w * winkler)),
        "hit_rate": float(np.sum(w * hits)),
        "mae_ratio_vs_random_walk": float(np.sum(w * np.abs(err)) / np.sum(w * np.abs(y))),
        "r2": float(1 - np.sum(w * err**2) / np.sum(w * (y - np.sum(w * y)) ** 2)),
    }


@pytest.mark.parametrize("model", ["linear", "direction", "served"])
def test_cumulative_metrics_match_their_definitions(model: str) -> None:
    state, frame = scored()
    mine = frame[frame.model == model]
    summary = state.summary("cumulative")[model]
    expected = oracle(mine, np.ones(len(mine)))
    assert summary["n"] == len(mine)
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    moved = mine[mine.realised_return != 0]  # zero returns are neither up nor down
    truth, said_up = moved.realised_return > 0, moved.p_up > 0.5
    assert summary["precision"] == pytest.approx(precision_score(truth, said_up))
    assert summary["recall"] == pytest.approx(recall_score(truth, said_up))
    assert summary["f1"] == pytest.approx(f1_score(truth, said_up))
    p_up = moved.p_up.clip(1e-6, 1 - 1e-6)  # the core's floor on a certain, wrong P(up)
    assert summary["log_loss"] == pytest.approx(log_loss(truth, p_up, labels=[False, True]))
    if moved.p_up.nunique() > 1:
        exact = roc_auc_score(truth, moved.p_up)
        assert summary["roc_auc"] == pytest.approx(exact, abs=0.02)  # 32 logit bins


def test_rolling_metrics_weight_each_outcome_by_its_age() -> None:
    """Exponentially weighted: an outcome k outcomes old weighs (1 - 1/window)**k."""
    window = 250
    state, frame = scored(metrics_window=window)
    mine = frame[frame.model == "linear"]
    ages = np.arange(len(mine))[::-1]
    summary = state.summary("rolling")["linear"]
    weights = (1 - 1 / window) ** ages
    for key, value in oracle(mine, weights).items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert summary["n"] == round(weights.sum() ** 2 / (weights**2).sum())


def test_a_zero_forecast_counts_half_a_hit_and_no_skill() -> None:
    state, _ = scored(models=resolve_models([]))
    summary = state.summary()["random_walk"]
    assert summary["hit_rate"] == 0.5
    assert summary["mae_ratio_vs_random_walk"] == 1.0


def test_intervals_cover_at_the_nominal_level_and_start_from_the_normal_quantile() -> None:
    fresh = SymbolState("SYN000", CoreConfig())
    assert fresh.interval_quantiles[0] == pytest.approx(1.6449, abs=1e-4)
    state, _ = scored(n=20_000)
    for model in ("random_walk", "served", "linear"):
        coverage = state.summary()[model]["coverage"]
        assert 0.88 <= coverage <= 0.92, (model, coverage)
