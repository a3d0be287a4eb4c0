"""``tickcast backtest``: prequential evaluation of the model set on tick files.

It drives the very same :class:`~tickcast.stream_processors.Pipeline` as the embedded runner
and the worker, so its forecasts are the ones the live system would have made for these ticks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickcast.online_model import SERVED, CoreConfig
from tickcast.online_model.metrics import ErrorStats
from tickcast.stream_processors import Pipeline, Sink

__all__ = ["BacktestReport", "run_backtest"]


@dataclass
class BacktestReport:
    """Cumulative metrics per symbol and model, pooled over symbols, and message counts."""

    config: CoreConfig
    symbols: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    pooled: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    invalid_reasons: dict[str, int] = field(default_factory=dict)  # reason code -> count
    invalid_examples: dict[str, str] = field(default_factory=dict)  # code -> first reason

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = _finite(
            {
                "horizon": self.config.horizon,
                "interval_level": self.config.level,
                "models": [m.name for m in self.config.models] + [SERVED],
                "counts": self.counts,
                "invalid_reasons": self.invalid_reasons,
                "invalid_examples": self.invalid_examples,
                "pooled": self.pooled,
                "symbols": self.symbols,
            }
        )
        return result


def _finite(value: Any) -> Any:
    """NaN (undefined metric) becomes None, so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):  # NaN: undefined so far
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def run_backtest(
    records: Iterable[Any],
    config: CoreConfig,
    *,
    sinks: Sequence[Sink] = (),
    on_progress: Callable[[int], None] | None = None,
) -> BacktestReport:
    """Feed ``records`` through the pipeline and summarise every forecaster."""
    pipeline = Pipeline(config, sinks, source="backtest")
    for count, record in enumerate(records, 1):
        pipeline.process(record)
        if on_progress is not None and count % 1000 == 0:
            on_progress(1000)
    pipeline.drain()
    report = BacktestReport(config, counts=dict(pipeline.counts))
    report.invalid_reasons = dict(pipeline.invalid_reasons)
    report.invalid_examples = dict(pipeline.invalid_examples)
    pooled: dict[str, ErrorStats] = {}
    inputs: dict[str, int] = {}
    for state in pipeline.states:
        report.symbols[state.symbol] = state.summary()
        named = zip([*state.names, SERVED], state.metrics, state.inputs(), strict=True)
        for name, metrics, n_inputs in named:
            pooled.setdefault(name, ErrorStats(config.level)).merge(metrics.cumulative)
            inputs[name] = max(inputs.get(name, 0), n_inputs)
    report.pooled = {name: stats.summary(inputs[name]) for name, stats in pooled.items()}
    return report
