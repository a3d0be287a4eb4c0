"""Checkpoints: an event-time cadence, what they hold, the versioned codec, and adopting what
another version learned (warm starts and promotions)."""

from __future__ import annotations

import pickle
from dataclasses import replace

import pytest

from tests.conftest import CODEC, make_ticks
from tickcast.codecs import FORMAT_VERSION, HEADER, StateRefusedError
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import CheckpointPolicy, adopt_learned, take
from tickcast.online_model.drift import DriftConfig
from tickcast.online_model.model_specs import resolve_models
from tickcast.producers import synthetic_ticks
from tickcast.records import Tick, parse_tick
from tickcast.stream_processors import Pipeline


def learned(ticks: list[Tick], config: CoreConfig, policy: CheckpointPolicy) -> list[int]:
    """Step one symbol through ``ticks``; the label counts at which the core stopped for a
    checkpoint."""
    pipeline = Pipeline(config, codec=CODEC, cadence=policy.cadence)
    pipeline.step(ticks)
    return [checkpoint.n_labels for checkpoint in pipeline.take_checkpoints()]


def stepped(ticks: list[Tick], config: CoreConfig) -> SymbolState:
    state = SymbolState(ticks[0].symbol, config)
    for tick in ticks:
        state.step(tick)
    return state


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
    live = stepped(ticks[:400], config)
    checkpoint = take(live, CODEC)
    assert checkpoint.n_labels == 399
    assert checkpoint.selected == live.selected_name
    assert checkpoint.runner_up != checkpoint.selected
    assert checkpoint.params["linear.loss"] == "squared"
    assert checkpoint.metrics["random_walk.cumulative.mae"] > 0
    restored = CODEC.decode(checkpoint.state, config)
    for tick in ticks[400:]:
        assert restored.step(tick).forecasts == live.step(tick).forecasts


def test_the_codec_header_names_format_and_configuration(config: CoreConfig) -> None:
    data = CODEC.encode(stepped(make_ticks(50, symbols=1), config))
    magic, version, _, key_id, _ = HEADER.unpack_from(data)
    assert (magic, version, key_id.hex()) == (b"TKST", FORMAT_VERSION, CODEC.key_id)
    assert CODEC.decode(data, config).progress.n_ticks == 50
    assert len(data) <= 8 * 1024  # the default model set's state, compressed


@pytest.mark.parametrize(
    "other",
    [
        CoreConfig(min_outcomes=30, metrics_every=50, horizon=2),
        CoreConfig(min_outcomes=30, metrics_every=50, level=0.8),
        CoreConfig(min_outcomes=30, metrics_every=50, windows=(5, 30)),
        CoreConfig(min_outcomes=30, metrics_every=50, models=resolve_models(["mean"])),
        CoreConfig(min_outcomes=30, metrics_every=50, drift=DriftConfig(reaction="reset")),
    ],
    ids=["horizon", "level", "windows", "models", "drift"],
)
def test_a_state_never_runs_under_another_configuration(
    config: CoreConfig, other: CoreConfig
) -> None:
    data = CODEC.encode(stepped(make_ticks(50, symbols=1), config))
    with pytest.raises(StateRefusedError, match="another core configuration"):
        CODEC.decode(data, other)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (pickle.dumps({"a": 1}), "no TKST header"),
        (b"TKST\x00\x09" + bytes(56), "state format 9"),
    ],
)
def test_bytes_that_are_no_state_are_refused_with_the_reason(
    config: CoreConfig, data: bytes, reason: str
) -> None:
    with pytest.raises(StateRefusedError, match=reason):
        CODEC.decode(data, config)


def test_adopting_takes_what_was_learned_and_keeps_the_data_state(config: CoreConfig) -> None:
    ticks = make_ticks(900, symbols=1)
    old = stepped(ticks[:300], config)
    live = CODEC.decode(CODEC.encode(old), config)
    for tick in ticks[300:600]:
        live.step(tick)
    adopt_learned(live, old)
    assert live.interval_quantiles == old.interval_quantiles  # the calibration came over
    assert (live.progress.n_labels, live.progress.last_ts) == (
        599,
        ticks[599].ts,
    )  # the stream goes on
    assert live.summary()["random_walk"]["n"] == 599  # its own metrics stayed
    moved_on = stepped(ticks[:600], config)
    step = ticks[600]
    assert live.step(step).forecasts != moved_on.step(step).forecasts  # old models serve


def test_a_warm_start_forecasts_every_tick_of_a_stream_older_than_the_checkpoint(
    config: CoreConfig,
) -> None:
    """`make demo` then a worker on the same sample: the checkpoint saw these very event times,
    and a warm start must not take them all for late."""
    ticks = make_ticks(400, symbols=1)
    checkpoint = stepped(ticks, config)
    warm = SymbolState(ticks[0].symbol, config)
    adopt_learned(warm, CODEC.decode(CODEC.encode(checkpoint), config))
    statuses = [warm.step(tick).status for tick in ticks]
    assert statuses == ["ok"] * len(ticks)
    cold = SymbolState(ticks[0].symbol, config)
    first = ticks[0]
    assert warm.interval_quantiles != cold.interval_quantiles  # it did start from the checkpoint
    assert cold.step(first).forecasts[0].model == "random_walk"


def test_adopting_carries_a_learning_rate_boost_for_the_labels_it_had_left(
    config: CoreConfig,
) -> None:
    boosting = replace(config, drift=replace(config.drift, reaction="boost_lr"))
    reversing = [
        parse_tick(r)
        for r in synthetic_ticks(6000, 1, seed=3, ar=0.7, jump_prob=0.0, regime_every=3000)
    ]
    old = SymbolState("SYN000", boosting)
    for tick in reversing:  # until concept drift boosts a model
        old.step(tick)
        if any(old.boosted):
            break
    i, (base_lr, until) = next((i, b) for i, b in enumerate(old.boosted) if b)
    left = until - old.progress.n_labels
    assert old.learning_rates[i] == pytest.approx(3 * base_lr)
    live = stepped(make_ticks(200, symbols=1), boosting)
    adopt_learned(live, old)
    assert live.boosted[i] == (base_lr, live.progress.n_labels + left)
    assert live.learning_rates[i] == pytest.approx(3 * base_lr)
    for tick in make_ticks(200 + left + 1, symbols=1)[200:]:
        live.step(tick)  # the labels it had left: the boost has ended
    assert live.boosted[i] is None
    assert live.learning_rates[i] == base_lr


def test_adopting_refuses_a_version_learned_under_another_configuration(
    config: CoreConfig,
) -> None:
    other = replace(config, models=resolve_models(["mean"]))
    with pytest.raises(StateRefusedError, match="another core config"):
        adopt_learned(SymbolState("AAPL", config), SymbolState("AAPL", other))


def test_the_checkpoints_and_forecasts_are_the_same_whatever_the_batch(config: CoreConfig) -> None:
    """The core reads and steps a batch a chunk at a time and stops where a checkpoint is due:
    one batch of 3,000 ticks and batches of 7, of 255 and of 257 (across the core's first
    chunk of 256) give the same verdicts, checkpoints and outputs."""
    ticks = make_ticks(3000, symbols=3)
    cadence = CheckpointPolicy(every_labels=100).cadence
    whole = Pipeline(config, codec=CODEC, cadence=cadence)
    verdicts = whole.step(ticks)
    taken = [(c.symbol, c.n_labels) for c in whole.take_checkpoints()]
    forecasts = whole.take().forecasts()
    assert len(taken) >= 3 * 9  # each symbol stopped at every 100 labels of its ~1,000
    for size in (7, 255, 257):
        pieces = Pipeline(config, codec=CODEC, cadence=cadence)
        stepped = [v for i in range(0, len(ticks), size) for v in pieces.step(ticks[i : i + size])]
        assert stepped == verdicts
        assert [(c.symbol, c.n_labels) for c in pieces.take_checkpoints()] == taken
        assert pieces.take().forecasts() == forecasts
