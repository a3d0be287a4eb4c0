"""Checkpoints of a symbol's learner: when one is due, what it holds, and how to adopt one.

Pure: the cadence counts learned ticks and event time (never the wall clock), so a replay takes
the same checkpoints as the live run it replays. Writing them somewhere is the registry's job
(:mod:`tickcast.stores.registry`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tickcast.codecs import StateCodec, StateRefusedError
from tickcast.contract import BASELINE
from tickcast.exceptions import ConfigError
from tickcast.online_model.learner import SERVED, SymbolState

__all__ = ["Checkpoint", "CheckpointPolicy", "adopt_learned", "take"]


@dataclass(frozen=True)
class CheckpointPolicy:
    """A checkpoint every ``every_labels`` learned ticks or ``every_s`` of event time,
    whichever comes first, counted from the last checkpoint (or the first tick); 0 turns that
    trigger off. The time trigger is off by default: on daily bars a day is one tick. Never
    sooner than ``min_gap_s`` of event time after the last one, so a symbol's versions a day
    are bounded whatever its tick rate."""

    every_labels: int = 5_000
    every_s: float = 0.0
    min_gap_s: float = 0.0

    def __post_init__(self) -> None:
        if self.every_labels < 0 or self.every_s < 0 or self.min_gap_s < 0:
            raise ConfigError("checkpoint cadence must not be negative")

    @property
    def cadence(self) -> tuple[int, int, int]:
        """(labels, event ms, least event ms between two): the core's stops for a checkpoint
        (whether one is due is decided there only, ``rust/src/cadence.rs``)."""
        return self.every_labels, int(self.every_s * 1000), int(self.min_gap_s * 1000)


@dataclass(frozen=True)
class Checkpoint:
    """One symbol's learner at one event time, with what a registry shows about it."""

    symbol: str
    ts: int  # event time (epoch ms) of the last tick it saw
    n_labels: int
    selected: str  # the model the online selection serves
    runner_up: str  # the runner-up in the online selection
    served_mae_ratio: float | None  # rolling MAE of the served forecast over random_walk's
    served_advantage: float  # rolling paired t-statistic of its gain over the random walk
    evidence_t: float  # the t-statistic that counts as evidence (the selection's own)
    models: dict[str, str]  # name -> spec fingerprint
    params: dict[str, str]
    metrics: dict[str, float] = field(repr=False)
    state: bytes = field(repr=False)
    moves_aliases: bool = True

    @property
    def beats_baseline(self) -> bool:
        """Measured evidence: a model other than the random walk is served, and the served
        forecast beat the random walk over the rolling window by the selection's own test.
        While the random walk is served (its MAE ratio is exactly 1) there is no evidence."""
        ratio = self.served_mae_ratio
        return (
            self.selected != BASELINE
            and ratio is not None
            and ratio < 1.0
            and self.served_advantage >= self.evidence_t
        )


def take(state: SymbolState, codec: StateCodec, *, moves_aliases: bool = True) -> Checkpoint:
    """Snapshot the state, encoded (signed) by ``codec``, and mark it as checkpointed, so the
    policy counts from here.

    ``moves_aliases``: whether the registry may move the aliases live workers follow for this
    checkpoint (a live worker's do; a replay's or backtest's do only when asked)."""
    assert state.progress.last_ts is not None, "a checkpoint needs a tick"
    state.checkpointed = (state.progress.n_labels, state.progress.last_ts)
    advantage, _ = state.core.served_evidence()
    rolling = state.summary("rolling")[SERVED]
    config = state.config
    params = {
        "horizon": str(config.horizon),
        "level": str(config.level),
        "windows": ",".join(map(str, config.windows)),
    }
    for spec in config.models:
        params[f"{spec.name}.kind"] = spec.kind
        params.update({f"{spec.name}.{key}": str(value) for key, value in spec.params})
    return Checkpoint(
        symbol=state.symbol,
        ts=state.progress.last_ts,
        n_labels=state.progress.n_labels,
        selected=state.selected_name,
        runner_up=state.runner_up_name,
        served_mae_ratio=_finite(rolling.get("mae_ratio_vs_random_walk")),
        served_advantage=advantage,
        evidence_t=config.select_t,
        models=dict(zip(state.names, state.fingerprints, strict=True)),
        params=params,
        metrics=_flat_metrics(state),
        state=codec.encode(state),
        moves_aliases=moves_aliases,
    )


def adopt_learned(live: SymbolState, chosen: SymbolState) -> None:
    """Serve what ``chosen`` learned from now on, keeping the live data state.

    What was learned comes over: the scaler, the models, the interval calibration, the choice
    of the served model (and a learning-rate boost still running, for as many labels as it had
    left). What belongs to the stream stays: features, pending forecasts, metrics, drift
    references and the event-time position, so the stream goes on without learning a tick
    twice or taking a tick for late. A warm start is this on a fresh state; an adoption (a
    version an operator promoted) is this on the live one.
    """
    if chosen.config != live.config:
        raise StateRefusedError(f"{live.symbol}: the version was learned under another core config")
    live.core.adopt_learned(chosen.core)


def _flat_metrics(state: SymbolState) -> dict[str, float]:
    """Cumulative and rolling metrics as ``<model>.<window>.<metric>``, finite numbers only."""
    flat: dict[str, float] = {}
    for window in ("cumulative", "rolling"):
        for name, summary in state.summary(window).items():
            for key, value in summary.items():
                number = _finite(value)
                if number is not None:
                    flat[f"{name}.{window}.{key}"] = number
    return flat


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
