"""Checkpoints of a symbol's learner: when one is due, what it holds, and how to adopt one.

Pure: the cadence counts learned ticks and event time (never the wall clock), so a replay takes
the same checkpoints as the live run it replays. Writing them somewhere is the registry's job
(:mod:`tickcast.stores.registry`).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from typing import Any

from tickcast.exceptions import ConfigError
from tickcast.online_model.learner import SERVED, SymbolState
from tickcast.online_model.spec import CoreConfig

__all__ = ["Checkpoint", "CheckpointPolicy", "adopt_models", "check_models", "restore", "take"]

PICKLE_PROTOCOL = 5


@dataclass(frozen=True)
class CheckpointPolicy:
    """A checkpoint every ``every_labels`` learned ticks or ``every_s`` of event time,
    whichever comes first, counted from the last checkpoint (or the first tick); 0 turns that
    trigger off. The time trigger is off by default: on daily bars a day is one tick."""

    every_labels: int = 5_000
    every_s: float = 0.0

    def __post_init__(self) -> None:
        if self.every_labels < 0 or self.every_s < 0:
            raise ConfigError("checkpoint cadence must not be negative")

    def due(self, state: SymbolState) -> bool:
        if state.n_labels == 0 or state.last_ts is None or state.first_ts is None:
            return False
        labels, ts = state.checkpointed or (0, state.first_ts)
        if self.every_labels and state.n_labels - labels >= self.every_labels:
            return True
        return bool(self.every_s) and state.last_ts - ts >= self.every_s * 1000


@dataclass(frozen=True)
class Checkpoint:
    """One symbol's learner at one event time, with what a registry shows about it."""

    symbol: str
    ts: int  # event time (epoch ms) of the last tick it saw
    n_labels: int
    champion: str  # the member model whose forecast is served
    challenger: str  # the runner-up in the online selection
    served_mae_ratio: float | None  # rolling MAE of the served forecast over random_walk's
    models: dict[str, str]  # name -> version (spec fingerprint)
    params: dict[str, str]
    metrics: dict[str, float] = field(repr=False)
    state: bytes = field(repr=False)

    @property
    def beats_baseline(self) -> bool:
        """The served forecast is no worse than the random walk over the rolling window."""
        ratio = self.served_mae_ratio
        return ratio is None or ratio <= 1.0


def take(state: SymbolState) -> Checkpoint:
    """Snapshot the state (and mark it as checkpointed, so the policy counts from here)."""
    assert state.last_ts is not None, "a checkpoint needs a tick"
    state.checkpointed = (state.n_labels, state.last_ts)
    rolling = state.metrics[-1].recent.summary()
    config = state.config
    params = {"horizon": str(config.horizon), "level": str(config.level),
              "windows": ",".join(map(str, config.windows))}  # fmt: skip
    for spec in config.models:
        params[f"{spec.name}.kind"] = spec.kind
        params.update({f"{spec.name}.{key}": str(value) for key, value in spec.params})
    return Checkpoint(
        symbol=state.symbol,
        ts=state.last_ts,
        n_labels=state.n_labels,
        champion=state.champion_name,
        challenger=state.challenger_name,
        served_mae_ratio=_finite(rolling.get("mae_ratio_vs_random_walk")),
        models=dict(zip(state.names, state.versions, strict=True)),
        params=params,
        metrics=_flat_metrics(state),
        state=pickle.dumps(state, protocol=PICKLE_PROTOCOL),
    )


def restore(data: bytes) -> SymbolState:
    """The learner a checkpoint holds (only tickcast's own registry writes these bytes)."""
    state = pickle.loads(data)
    if not isinstance(state, SymbolState):
        raise ConfigError(f"checkpoint holds a {type(state).__name__}, not a learner state")
    return state


def adopt_models(live: SymbolState, chosen: SymbolState) -> None:
    """Serve ``chosen``'s models from now on, keeping the live data state.

    Features, pending forecasts, metrics and the last event time stay, so the stream goes on
    without learning a tick twice or skipping one; the scaler, models, interval calibration and
    champion choice come from ``chosen`` (a promoted or rolled-back version).
    """
    check_models(chosen, live.config)
    live.scaler = chosen.scaler
    live.models = chosen.models
    live.intervals = chosen.intervals
    live.champion = chosen.champion
    live.shrink = chosen.shrink


def check_models(state: SymbolState, config: CoreConfig) -> None:
    """Raise ConfigError unless ``state`` runs the model set (names and versions) of ``config``."""
    names = [m.name for m in config.models]
    versions = [m.version for m in config.models]
    if (state.names, state.versions) != (names, versions):
        raise ConfigError(
            f"{state.symbol}: the version runs models {state.names} {state.versions}, "
            f"this process runs {names} {versions}"
        )


def _flat_metrics(state: SymbolState) -> dict[str, float]:
    """Cumulative and rolling metrics as ``<model>.<window>.<metric>``, finite numbers only."""
    flat: dict[str, float] = {}
    n_features = len(state.features.names)
    for name, metrics in zip([*state.names, SERVED], state.metrics, strict=True):
        for window, summary in metrics.summaries(n_features).items():
            for key, value in summary.items():
                number = _finite(value)
                if number is not None:
                    flat[f"{name}.{window}.{key}"] = number
    return flat


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
