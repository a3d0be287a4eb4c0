"""Checkpoints: an event-time cadence, what they hold, and adopting another version's models."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

from tests.conftest import make_ticks
from tickcast.exceptions import ConfigError
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import CheckpointPolicy, adopt_models, restore, take
from tickcast.online_model.spec import resolve_models
from tickcast.records import Tick


def learned(ticks: list[Tick], config: CoreConfig, policy: CheckpointPolicy) -> list[int]:
    """Step one symbol through ``ticks``; the label counts at which checkpoints were taken."""
    state = SymbolState(ticks[0].symbol, config)
    taken = []
    for tick in ticks:
        state.step(tick)
        if policy.due(state):
            taken.append(take(state).n_labels)
    return taken


def test_cadence_counts_learned_ticks(config: CoreConfig) -> None:
    ticks = make_ticks(1001, symbols=1)
    assert learned(ticks, config, CheckpointPolicy(every_labels=250)) == [250, 500, 750, 1000]


def test_cadence_counts_event_time_not_the_clock(config: CoreConfig) -> None:
    ticks = make_ticks(1001, symbols=1)  # one second apart
    every_minute = CheckpointPolicy(every_labels=0, every_s=60)
    assert learned(ticks[:400], config, every_minute) == [60, 120, 180, 240, 300, 360]


def test_a_checkpoint_restores_the_learner_that_forecasts_on_identically(
    config: CoreConfig,
) -> None:
    ticks = make_ticks(600, symbols=1)
    live = SymbolState("AAPL", config)
    for tick in ticks[:400]:
        live.step(tick)
    checkpoint = take(live)
    assert checkpoint.n_labels == 399
    assert checkpoint.champion == live.champion_name
    assert checkpoint.challenger != checkpoint.champion
    assert checkpoint.params["linear.loss"] == "squared"
    assert checkpoint.metrics["random_walk.cumulative.mae"] > 0
    restored = restore(checkpoint.state)
    for tick in ticks[400:]:
        assert restored.step(tick).forecasts == live.step(tick).forecasts


def test_restore_refuses_what_is_not_a_learner() -> None:
    with pytest.raises(ConfigError, match="not a learner state"):
        restore(pickle.dumps({"a": 1}))


def test_adopting_takes_the_models_and_keeps_the_data_state(config: CoreConfig) -> None:
    ticks = make_ticks(900, symbols=1)
    old = SymbolState("AAPL", config)
    for tick in ticks[:300]:
        old.step(tick)
    live = pickle.loads(pickle.dumps(old))
    for tick in ticks[300:600]:
        live.step(tick)
    adopt_models(live, old)
    assert live.models is old.models
    assert (live.n_labels, live.last_ts) == (599, ticks[599].ts)  # the stream goes on
    moved_on = SymbolState("AAPL", config)
    for tick in ticks[:600]:
        moved_on.step(tick)
    step = ticks[600]
    assert live.step(step).forecasts != moved_on.step(step).forecasts  # old models serve


def test_adopting_refuses_a_version_with_other_models(config: CoreConfig) -> None:
    other = replace(config, models=resolve_models(["mean"]))
    with pytest.raises(ConfigError, match="runs models"):
        adopt_models(SymbolState("AAPL", config), SymbolState("AAPL", other))
