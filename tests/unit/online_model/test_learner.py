"""Predict, then learn: ordering, idempotence, determinism, recovery, honest selection."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tests.conftest import CODEC, make_ticks
from tickcast._core import pooled
from tickcast.online_model import SERVED, CoreConfig, SymbolState, SymbolStates
from tickcast.records import Forecast, Tick


def run(ticks: list[Tick], config: CoreConfig) -> tuple[list[Forecast], SymbolStates]:
    states = SymbolStates(config)
    forecasts: list[Forecast] = []
    for tick in ticks:
        forecasts += states.step(tick).forecasts
    return forecasts, states


def test_every_tick_gets_one_forecast_per_model_and_the_served_one(config: CoreConfig) -> None:
    ticks = make_ticks(300, symbols=3)
    forecasts, _ = run(ticks, config)
    names = [m.name for m in config.models] + [SERVED]
    assert len(forecasts) == 300 * len(names)
    assert [f.model for f in forecasts[: len(names)]] == names


def test_outcome_scores_the_forecast_made_horizon_ticks_earlier() -> None:
    config = CoreConfig(horizon=3)
    state = SymbolState("X", config)
    ticks = make_ticks(40, symbols=1)
    made: dict[int, Forecast] = {}
    for i, tick in enumerate(ticks):
        result = state.step(tick)
        made.update({f.ts: f for f in result.forecasts if f.model == "linear"})
        outcomes = [o for o in result.outcomes if o.model == "linear"]
        if i < 3:
            assert outcomes == []
            continue
        (outcome,) = outcomes
        assert (outcome.ts, outcome.label_ts) == (ticks[i - 3].ts, tick.ts)
        assert outcome.realised_return == pytest.approx(math.log(tick.price / ticks[i - 3].price))
        assert outcome.predicted_return == made[outcome.ts].predicted_return


def test_forecasts_never_look_ahead(config: CoreConfig) -> None:
    ticks = make_ticks(200, symbols=1)
    altered = ticks[:150] + [replace(t, price=t.price * 1.5) for t in ticks[150:]]
    a, _ = run(ticks, config)
    b, _ = run(altered, config)
    per_tick = len(config.models) + 1
    assert a[: 150 * per_tick] == b[: 150 * per_tick]
    assert a[150 * per_tick :] != b[150 * per_tick :]


def test_replay_is_deterministic(config: CoreConfig) -> None:
    ticks = make_ticks(600, symbols=4)
    assert run(ticks, config)[0] == run(ticks, config)[0]


def test_duplicate_and_late_ticks_are_counted_and_not_learned(config: CoreConfig) -> None:
    ticks = make_ticks(400, symbols=2)
    noisy: list[Tick] = []
    for i, tick in enumerate(ticks):
        noisy.append(tick)
        if i % 10 == 5:
            noisy.append(tick)  # redelivered
        if i % 17 == 16:
            noisy.append(replace(ticks[i - 4], price=ticks[i - 4].price * 3))  # late, different
    clean, clean_states = run(ticks, config)
    dirty, dirty_states = run(noisy, config)
    assert dirty == clean
    states = list(dirty_states)
    assert sum(s.progress.n_duplicates for s in states) == 40
    assert sum(s.progress.n_late for s in states) == 23
    for clean_state, dirty_state in zip(clean_states, dirty_states, strict=True):
        assert repr(clean_state.summary()) == repr(dirty_state.summary())  # nothing learned twice


def test_state_restored_through_the_codec_continues_identically(config: CoreConfig) -> None:
    ticks = make_ticks(500, symbols=3)
    uninterrupted, _ = run(ticks, config)
    states = SymbolStates(config)
    before: list[Forecast] = []
    for tick in ticks[:260]:
        before += states.step(tick).forecasts
    restored = SymbolStates(config)  # a crash, then recovery through the state codec
    restored.states = {
        symbol: CODEC.decode(CODEC.encode(state), config) for symbol, state in states.states.items()
    }
    after: list[Forecast] = []
    for tick in ticks[260:]:
        after += restored.step(tick).forecasts
    assert before + after == uninterrupted


def pooled_ratio(states: SymbolStates, model: str) -> float:
    summaries = pooled([state.core for state in states])
    ratio: float = summaries[next(iter(states)).forecasters.index(model)][
        "mae_ratio_vs_random_walk"
    ]
    return ratio


def test_served_forecast_is_not_worse_than_the_random_walk_on_noise() -> None:
    _, states = run(make_ticks(20_000, symbols=4, ar=0.0, seed=11), CoreConfig())
    assert pooled_ratio(states, SERVED) <= 1.001
    for state in states:
        coverage = state.summary()[SERVED]["coverage"]
        assert 0.87 <= coverage <= 0.93


def test_champion_follows_a_model_that_really_beats_the_random_walk() -> None:
    _, states = run(make_ticks(12_000, symbols=2, ar=0.5, seed=3), CoreConfig())
    assert all(state.selected_name != "random_walk" for state in states)
    assert pooled_ratio(states, SERVED) < 0.95


def test_metric_snapshots_come_every_metrics_every_ticks(config: CoreConfig) -> None:
    state = SymbolState("X", config)
    rows = [row for t in make_ticks(100, symbols=1) for row in state.step(t).metrics]
    names = [m.name for m in config.models] + [SERVED]
    assert len(rows) == 2 * len(names) * 2  # ticks 50 and 100, rolling and cumulative
    assert {r.model for r in rows} == set(names)


def test_two_ticks_in_one_millisecond_are_both_forecast_and_a_repeat_is_not(
    config: CoreConfig,
) -> None:
    state = SymbolState("X", config)
    first, second = Tick("X", 1_700_000_000_000, 10.0), Tick("X", 1_700_000_000_000, 10.1, seq=1)
    assert state.step(first).status == "ok"
    result = state.step(second)
    assert result.status == "ok"
    assert {(f.ts, f.seq) for f in result.forecasts} == {(second.ts, 1)}
    assert state.step(second).status == "duplicate"  # re-delivered
    assert state.step(first).status == "late"  # behind the (ts, seq) position
    assert state.progress.n_duplicates == state.progress.n_late == 1


def test_adjusted_r2_charges_each_model_the_inputs_it_fits(config: CoreConfig) -> None:
    _, states = run(make_ticks(600, symbols=1), config)
    summary = next(iter(states)).summary()
    for baseline in ("random_walk", "mean"):  # no inputs: adjusted R2 is R2
        assert summary[baseline]["adj_r2"] == pytest.approx(summary[baseline]["r2"])
    linear = summary["linear"]
    n, p = linear["n"], len(config.feature_names)
    assert linear["adj_r2"] == pytest.approx(1 - (1 - linear["r2"]) * (n - 1) / (n - p - 1))
