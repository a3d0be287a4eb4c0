"""Predict, then learn: one symbol's state and the step that advances it by one tick.

The step itself is compiled (``tickcast._core``, see ``rust/src/learner.rs``). At tick t it
(1) skips a tick at or before the last processed event-time position (ts, seq) (a duplicate or
late tick: counted, never learned twice), (2) updates the features, (3) scores and learns the
forecast made H ticks ago, now that its label (the realised log return) is known, and every
block of labels re-selects the model to serve, (4) forecasts from tick t with every model and
serves the selected model's forecast shrunk toward the random walk.

Pure and deterministic: no I/O, no clock, so the same ticks give the same forecasts in the
embedded runner, the Faust worker and ``tickcast backtest``. This module is the record-level
face of it: :meth:`SymbolState.step` returns Forecast, Outcome and DriftEvent records (tests,
reports); the runtime steps many ticks at once into columns (``tickcast._core.step_batch``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tickcast._core import CoreDrift, CoreMetrics, CoreOutcome, SymbolCore
from tickcast.contract import (
    METRIC_NAMES,
    SERVED,
    STATUSES,
    SUMMARY_WINDOWS,
    MetricName,
    Status,
    SummaryWindow,
)
from tickcast.online_model.core_config import CoreConfig
from tickcast.online_model.river_models import RiverExternals
from tickcast.records import (
    DriftEvent,
    Forecast,
    MetricRow,
    Outcome,
    Tick,
)

__all__ = ["SERVED", "StepResult", "SymbolState", "SymbolStates", "externals_for"]


@dataclass(slots=True)
class StepResult:
    """What one tick produced; ``status`` is "ok", "duplicate" or "late"."""

    status: Status = "ok"
    forecasts: list[Forecast] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    metrics: list[MetricRow] = field(default_factory=list)
    drift: list[DriftEvent] = field(default_factory=list)


def externals_for(config: CoreConfig) -> RiverExternals | None:
    """The Python-side models and detectors a symbol of this configuration needs, if any."""
    if not config.spec.has_externals:
        return None
    kinds = [m.kind for m in config.models]
    params = [dict(m.params) for m in config.models]
    return RiverExternals(params, kinds, config.feature_names, config.horizon, config.drift)


def symbol_seed(symbol: str) -> int:
    """The seed of a symbol's dropout masks: the same symbol, the same masks on a replay."""
    return int.from_bytes(hashlib.blake2b(symbol.encode(), digest_size=8).digest(), "little")


class SymbolState:
    """A symbol's features, model set, calibrators, metrics and pending forecasts."""

    __slots__ = ("config", "core", "symbol")

    def __init__(self, symbol: str, config: CoreConfig, core: SymbolCore | None = None) -> None:
        self.symbol = symbol
        self.config = config
        if core is None:
            core = SymbolCore(config.spec, externals_for(config), symbol_seed(symbol))
        self.core = core

    @property
    def names(self) -> list[str]:
        return self.config.names

    @property
    def fingerprints(self) -> list[str]:
        return self.config.fingerprints

    @property
    def forecasters(self) -> list[str]:
        """Every model, then the served forecast."""
        return self.config.forecasters

    def __getattr__(self, name: str) -> Any:
        # progress (counts and the last tick), selected,
        # runner_up, shrink, checkpointed, boosted, learning_rates, gradient_norms,
        # interval_quantiles
        return getattr(self.core, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "checkpointed":
            self.core.checkpointed = value
        else:
            object.__setattr__(self, name, value)

    @property
    def selected_name(self) -> str:
        """The model the online selection serves the forecast of."""
        name: str = self.names[self.core.selected]
        return name

    @property
    def runner_up_name(self) -> str:
        """The runner-up of the online selection: the best advantage after the selected one's."""
        name: str = self.names[self.core.runner_up]
        return name

    def step(self, tick: Tick) -> StepResult:
        """Advance by one tick; see the module docstring for the order of events."""
        stepped = self.core.step(tick)
        result = StepResult(STATUSES[stepped.status])
        if stepped.status:
            return result
        config, forecasters = self.config, self.forecasters
        result.forecasts = [config.forecast(row) for row in stepped.forecasts]
        result.outcomes = [outcome(row, config) for row in stepped.outcomes]
        result.metrics = [metric_row(row, config) for row in stepped.metrics]
        result.drift = [drift_event(row, forecasters) for row in stepped.drift]
        return result

    def inputs(self) -> list[int]:
        """How many inputs each forecaster fits (adjusted R2's penalty)."""
        return list(self.core.inputs())

    def metric_rows(self, ts: int) -> list[MetricRow]:
        """A snapshot of every forecaster's rolling and cumulative metrics at event time ts."""
        config, selected = self.config, self.core.selected
        return [
            _metric_record(
                self.symbol, ts, name, window, config.names[config.based_on(i, selected)], summary
            )
            for window in SUMMARY_WINDOWS
            for i, (name, summary) in enumerate(
                zip(self.forecasters, self.core.summaries(window), strict=True)
            )
        ]

    def summary(self, window: SummaryWindow = "cumulative") -> dict[str, dict[MetricName, float]]:
        """Metrics per forecaster, the served forecast under ``served``."""
        return dict(zip(self.forecasters, self.core.summaries(window), strict=True))


def outcome(row: CoreOutcome, config: CoreConfig) -> Outcome:
    """An Outcome record from the core's outcome."""
    return Outcome(
        row.symbol,
        row.ts,
        row.seq,
        row.label_ts,
        config.horizon,
        config.forecasters[row.forecaster],
        row.predicted_return,
        row.realised_return,
        row.lower_return,
        row.upper_return,
        row.inside,
        row.p_up,
    )


def metric_row(row: CoreMetrics, config: CoreConfig) -> MetricRow:
    """A model_metrics row from the core's metrics."""
    window: SummaryWindow = "rolling" if row.rolling else "cumulative"
    model, based_on = config.forecasters[row.forecaster], config.names[row.based_on]
    return _metric_record(row.symbol, row.ts, model, window, based_on, row.values)


def _metric_record(
    symbol: str,
    ts: int,
    model: str,
    window: SummaryWindow,
    based_on: str,
    values: Mapping[MetricName, float],
) -> MetricRow:
    scores: dict[str, Any] = {name: values[name] for name in METRIC_NAMES}
    scores["n"] = int(scores["n"])
    return MetricRow(symbol, ts, model, window, based_on, **scores)


def drift_event(row: CoreDrift, forecasters: list[str]) -> DriftEvent:
    """A DriftEvent record from the core's drift event (no model: data drift)."""
    model = "" if row.forecaster is None else forecasters[row.forecaster]
    return DriftEvent(
        row.symbol,
        row.ts,
        model,
        row.detector,
        row.kind,
        row.feature,
        row.value,
        row.threshold,
        row.reaction,
    )


class SymbolStates:
    """One :class:`SymbolState` per symbol, created the first time a symbol appears."""

    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.states: dict[str, SymbolState] = {}

    def __getitem__(self, symbol: str) -> SymbolState:
        state = self.states.get(symbol)
        if state is None:
            state = self.states[symbol] = SymbolState(symbol, self.config)
        return state

    def step(self, tick: Tick) -> StepResult:
        return self[tick.symbol].step(tick)

    def __iter__(self) -> Iterator[SymbolState]:
        return iter(self.states.values())

    def __len__(self) -> int:
        return len(self.states)
