"""Drift detection: planted changes are found within a bounded delay, stationary data is quiet."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.factories import START, regime_ticks
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.drift import (
    Adwin,
    DriftConfig,
    DriftEvent,
    PageHinkley,
    Shift,
    ks_pvalue,
    psi,
)
from tickcast.records import Tick


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


def test_page_hinkley_finds_a_mean_shift_and_stays_quiet_before_it() -> None:
    rng = random.Random(3)
    detector = PageHinkley(delta=0.05, threshold=50.0)
    before = [detector.update(abs(rng.gauss(0, 1))) for _ in range(20_000)]
    assert all(b is None for b in before)
    after = [detector.update(abs(rng.gauss(0, 1)) + 0.5) for _ in range(1000)]
    hit = next(i for i, statistic in enumerate(after) if statistic is not None)
    assert hit < 300


def test_shift_compares_against_reference_quantile_bins() -> None:
    rng = random.Random(1)
    same, moved = Shift(window=500), Shift(window=500)
    for _ in range(1000):
        x = rng.gauss(0, 1)
        same.update(x)
        moved.update(x)
    for _ in range(500):
        same.update(rng.gauss(0, 1))
        moved.update(rng.gauss(1.0, 1))
    quiet, shifted = same.check(), moved.check()
    assert quiet is not None
    assert shifted is not None
    assert quiet[0] < 0.1 < 0.25 < shifted[0]
    assert shifted[1] < 1e-6 < quiet[1]


def test_psi_and_ks_of_identical_samples() -> None:
    assert psi([10, 20, 30], [10, 20, 30]) == pytest.approx(0.0)
    assert ks_pvalue([10, 20, 30], [10, 20, 30]) == 1.0


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
    assert all(e.model not in ("random_walk", "champion") for e in acted)  # ... never the baseline
    assert {e.reaction for e in concept} <= {reaction, "log"}


def test_an_unknown_reaction_is_a_config_error() -> None:
    from tickcast.exceptions import ConfigError

    with pytest.raises(ConfigError, match="drift reaction"):
        CoreConfig(drift=DriftConfig(reaction="panic"))


def test_adwin_is_the_other_detector_and_finds_a_mean_shift() -> None:
    rng = random.Random(3)
    detector = Adwin()
    found = [
        detector.update(abs(rng.gauss(0, 1)) + (0.5 if i >= 5000 else 0.0)) for i in range(7000)
    ]
    hits = [i for i, estimate in enumerate(found) if estimate is not None]
    assert hits
    assert 5000 <= hits[0] < 5500
    config = CoreConfig(drift=DriftConfig(detector="adwin"))
    assert SymbolState("X", config).drift.threshold == 0.002
    from tickcast.exceptions import ConfigError

    with pytest.raises(ConfigError, match="drift detector"):
        CoreConfig(drift=DriftConfig(detector="cusum"))
