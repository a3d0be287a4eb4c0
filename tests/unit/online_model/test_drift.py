"""Drift detection: planted changes are found within a bounded delay, stationary data is quiet."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from tests.factories import START, regime_ticks
from tickcast._core import binned_ks_pvalue, psi, shift_stream
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.drift import DriftConfig, DriftEvent
from tickcast.producers import synthetic_ticks
from tickcast.records import Tick, parse_tick


def drift_of(ticks: list[Tick], config: CoreConfig) -> list[DriftEvent]:
    state = SymbolState("X", config)
    return [event for tick in ticks for event in state.step(tick).drift]


def test_a_volatility_regime_change_is_found_within_a_thousand_ticks() -> None:
    events = drift_of(regime_ticks(8000, change_at=5000), CoreConfig())
    assert events
    first = (events[0].ts - START) // 1000
    assert 5000 <= first <= 6000, events[0]
    assert events[0].kind == "data"
    assert events[0].value > events[0].threshold


def test_a_long_stationary_stretch_raises_no_drift_event() -> None:
    assert drift_of(regime_ticks(20_000), CoreConfig()) == []


def reversed_autocorrelation(n: int = 8000, at: int = 4000) -> list[Tick]:
    """Returns with a strong AR(1) term that reverses its sign at tick ``at``: what the models
    learned turns wrong, and their (volatility-scaled) errors stay larger. A change of
    volatility alone is no concept drift here: the scale catches up within its span."""
    return [
        parse_tick(r) for r in synthetic_ticks(n, 1, seed=3, ar=0.7, jump_prob=0.0, regime_every=at)
    ]


@pytest.mark.parametrize("detector", ["page_hinkley", "adwin"])
def test_a_reversed_relationship_is_concept_drift_and_nothing_before_it(detector: str) -> None:
    ticks = reversed_autocorrelation()
    events = drift_of(ticks, CoreConfig(drift=DriftConfig(detector=detector)))
    concept = [e for e in events if e.kind == "concept"]
    assert {e.detector for e in concept} == {detector}
    when = [ticks.index(next(t for t in ticks if t.ts == e.ts)) for e in concept]
    assert min(when) >= 4000  # quiet while the relationship held
    assert min(when) < 4200  # and found soon after it reversed
    assert {e.model for e in concept} >= {"linear", "huber"}


def test_the_shift_check_is_quiet_on_one_distribution_and_finds_a_moved_one() -> None:
    rng = random.Random(1)
    head = [rng.gauss(0, 1) for _ in range(600)]  # scale (100), then the reference (500)
    same = head + [rng.gauss(0, 1) for _ in range(800)]
    moved = head + [rng.gauss(1.0, 1) for _ in range(800)]
    quiet = [c for c in shift_stream(same, 500) if c is not None]
    shifted = [c for c in shift_stream(moved, 500) if c is not None]
    assert quiet
    assert max(psi for psi, _ in quiet) < 0.1
    assert min(p for _, p in quiet) > 1e-3
    assert shifted[-1][0] > 0.25
    assert shifted[-1][1] < 1e-6


def test_psi_matches_its_definition_and_the_binned_ks_matches_scipy() -> None:
    """Oracles: PSI by its formula in NumPy; the binned KS p-value against SciPy's asymptotic
    Kolmogorov distribution for the statistic at the bin edges."""
    expected, actual = [50, 80, 120, 100, 50], [30, 60, 100, 140, 70]
    p = (np.array(expected) + 0.5) / (sum(expected) + 2.5)
    q = (np.array(actual) + 0.5) / (sum(actual) + 2.5)
    assert psi(expected, actual) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert psi([10, 20, 30], [10, 20, 30]) == pytest.approx(0.0)
    n, m = sum(expected), sum(actual)
    d = np.max(np.abs(np.cumsum(expected) / n - np.cumsum(actual) / m))
    scipy_p = stats.kstwobign.sf(d * np.sqrt(n * m / (n + m)))
    assert binned_ks_pvalue(expected, actual) == pytest.approx(scipy_p, rel=1e-9)
    assert binned_ks_pvalue([10, 20, 30], [10, 20, 30]) == 1.0


@pytest.mark.parametrize("reaction", ["reset", "boost_lr"])
def test_concept_drift_reactions_act_on_a_challenger_and_are_recorded(reaction: str) -> None:
    config = CoreConfig(drift=replace(DriftConfig(), reaction=reaction, ph_threshold=5.0))
    state = SymbolState("X", config)
    events = [
        e for t in regime_ticks(6000, change_at=3000, after_vol=0.05) for e in state.step(t).drift
    ]
    concept = [e for e in events if e.kind == "concept"]
    assert concept
    acted = [e for e in concept if e.reaction == reaction]
    assert acted  # a non-served model was reset or sped up ...
    assert all(e.model not in ("random_walk", "served") for e in acted)  # ... never the baseline
    assert {e.reaction for e in concept} <= {reaction, "log"}


def test_an_unknown_reaction_is_a_config_error() -> None:
    from tickcast.exceptions import ConfigError

    with pytest.raises(ConfigError, match="drift reaction"):
        CoreConfig(drift=DriftConfig(reaction="panic"))


def test_an_unknown_detector_is_a_config_error() -> None:
    from tickcast.exceptions import ConfigError

    with pytest.raises(ConfigError, match="drift detector"):
        CoreConfig(drift=DriftConfig(detector="cusum"))
