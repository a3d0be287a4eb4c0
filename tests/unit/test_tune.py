"""Walk-forward tuning: folds in time, no fold reading its own future, the winner's spec."""

from __future__ import annotations

import math
import random
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest

from tests.conftest import make_ticks
from tickcast.analysis.tune import Folds, read_grid, tune
from tickcast.exceptions import ConfigError
from tickcast.online_model.core_config import config_from_mapping

GRID: dict[str, Any] = {
    "horizon": 2,
    "models": {
        "linear": {"kind": "linear", "optimizer": "sgd", "grid": {"lr": [0.0005, 0.01]}},
        "mlp": {"kind": "mlp", "hidden": [4], "grid": {"activation": ["tanh", "relu"]}},
    },
}


def records(n: int = 3000) -> list[dict[str, Any]]:
    return [asdict(t) for t in make_ticks(n, symbols=3)]


def folds_of(result: Any) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {(r["model"], str(r["grid"])): r["folds"] for r in result.ranking}


def test_no_fold_reads_its_own_future() -> None:
    """Change every price after fold 2 ends: folds 1 and 2 score exactly as before, fold 3
    does not (so the check can fail)."""
    ticks = records()
    split = Folds.of(ticks, 3, horizon=2)
    changed = [dict(t) for t in ticks]
    rng = random.Random(3)
    for t in changed:
        index = int(np.searchsorted(split.times[t["symbol"]], t["ts"]))
        if index >= split.edges[t["symbol"]][3]:  # fold 2 is block 2: it ends at edge 3
            t["price"] *= math.exp(rng.gauss(0, 0.05))
    before, after = folds_of(tune(ticks, GRID, 3)), folds_of(tune(changed, GRID, 3))
    assert before.keys() == after.keys()
    for key, folds in before.items():
        assert folds[:2] == after[key][:2], key
        assert folds[2] != after[key][2], key


def test_each_fold_scores_its_own_block_after_a_gap_of_the_horizon() -> None:
    start = 1_700_000_000_000
    ticks = [{"symbol": "A", "ts": start + i * 1000} for i in range(100)]
    split = Folds.of(ticks, 4, horizon=3)
    fold = split.fold_of("A", start + np.arange(100) * 1000)
    assert list(split.edges["A"]) == [0, 20, 40, 60, 80, 100]
    assert set(fold[:23]) == {0}  # training, then the first fold's gap
    assert list(fold[23:37]) == [1] * 14  # its block, less a horizon at each end
    assert set(fold[37:43]) == {0}
    assert fold[99] == 0
    assert fold[80 + 3] == 4


def test_the_grid_is_every_combination_and_the_winner_a_models_file() -> None:
    _, candidates = read_grid(GRID)
    assert [c.label for c in candidates] == [
        "linear (lr=0.0005)",
        "linear (lr=0.01)",
        "mlp (activation=tanh)",
        "mlp (activation=relu)",
    ]
    result = tune(records(), GRID, 3)
    assert [r["rank"] for r in result.ranking] == [1, 2, 3, 4]
    ratios = [r["mae_ratio"] for r in result.ranking]
    assert ratios == sorted(ratios)
    winner = result.models_file
    assert winner["horizon"] == 2
    best_linear = next(r for r in result.ranking if r["model"] == "linear")
    assert winner["models"]["linear"]["lr"] == best_linear["grid"]["lr"]
    config = config_from_mapping(winner)  # a models file the other commands accept
    assert config.names == ["random_walk", "linear", "mlp"]
    assert config.horizon == 2


def test_bad_grids_and_short_series_fail_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="each value must be a non-empty list"):
        read_grid({"models": {"x": {"kind": "linear", "grid": {"lr": 0.1}}}})
    with pytest.raises(ConfigError, match="needs kind"):
        read_grid({"models": {"x": {"grid": {"lr": [0.1]}}}})
    with pytest.raises(ConfigError, match="need at least"):
        tune(records(30), GRID, 5)
    with pytest.raises(ConfigError, match="at least 2"):
        tune(records(), GRID, 1)
