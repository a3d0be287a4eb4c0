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

from tickcast._core import SymbolCore
from tickcast.contract import (
    METRIC_NAMES,
    SERVED,
    STATUSES,
    SUMMARY_WINDOWS,
    Detector,
    DriftKind,
    MetricName,
    Reaction,
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
        status, forecasts, outcomes, metric_rows, drift = self.core.step(tick)
        result = StepResult(STATUSES[status])
        if status:
            return result
        result.forecasts = [self._forecast(row) for row in forecasts]
        result.outcomes = [self._outcome(row) for row in outcomes]
        result.metrics = [self._metric_row(row) for row in metric_rows]
        result.drift = [self._drift_event(row) for row in drift]
        return result

    def _forecast(self, row: tuple[Any, ...]) -> Forecast:
        ts, seq, i, selected, *values = row
        return self.config.forecast(
            self.symbol, (ts, seq, i, self.config.based_on(i, selected), *values)
        )

    def _outcome(self, row: tuple[Any, ...]) -> Outcome:
        ts, seq, label_ts, i, ret, realised, lower, upper, inside, p_up = row
        return Outcome(
            self.symbol,
            ts,
            seq,
            label_ts,
            self.config.horizon,
            self.forecasters[i],
            ret,
            realised,
            lower,
            upper,
            inside,
            p_up,
        )

    def _metric_row(self, row: tuple[Any, ...]) -> MetricRow:
        return metric_row((self.symbol, *row), self.config)

    def _drift_event(self, row: tuple[Any, ...]) -> DriftEvent:
        return drift_event((self.symbol, *row), self.forecasters)

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


def metric_row(
    row: tuple[str, int, int, bool, int, dict[MetricName, float]], config: CoreConfig
) -> MetricRow:
    """A model_metrics row from the core's tuple (symbol, ts, forecaster, rolling, selected,
    values)."""
    symbol, ts, i, rolling, selected, values = row
    based_on = config.names[config.based_on(i, selected)]
    window: SummaryWindow = "rolling" if rolling else "cumulative"
    return _metric_record(symbol, ts, config.forecasters[i], window, based_on, values)


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


def drift_event(
    row: tuple[str, int, int | None, Detector, DriftKind, str, float, float, Reaction],
    forecasters: list[str],
) -> DriftEvent:
    """A DriftEvent from the core's tuple (symbol, ts, forecaster or None, detector, kind,
    feature, value, threshold, reaction)."""
    symbol, ts, i, detector, kind, feature, value, threshold, reaction = row
    model = "" if i is None else forecasters[i]
    return DriftEvent(symbol, ts, model, detector, kind, feature, value, threshold, reaction)


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
