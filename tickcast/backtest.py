"""``tickcast backtest``: prequential evaluation of the model set on tick files.

It drives the very same pipeline and runtime as the embedded runner and the worker, so its
forecasts are the ones the live system would have made for these ticks.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tickcast._core import pooled
from tickcast.online_model import SERVED, CoreConfig
from tickcast.stream_processors import Sink, run_embedded

__all__ = ["BacktestReport", "run_backtest"]

BATCH = 10_000


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
    sinks: Sequence[Sink[Any]] = (),
    on_progress: Callable[[int], None] | None = None,
) -> BacktestReport:
    """Feed ``records`` through the embedded runner (no stores: ``sinks`` only, a batch
    cut every 10,000 records, so memory stays bounded) and summarise every forecaster."""
    from tickcast import bootstrap

    runtime = bootstrap.runtime(config, sinks, source="backtest")
    asyncio.run(
        run_embedded(
            records,
            runtime,
            flush_interval_s=math.inf,
            flush_max_rows=BATCH,
            on_progress=on_progress,
        )
    )
    pipeline = runtime.pipeline
    report = BacktestReport(config, counts=dict(pipeline.counts))
    report.invalid_reasons = dict(pipeline.invalid_reasons)
    report.invalid_examples = dict(pipeline.invalid_examples)
    states = list(pipeline.states)
    for state in states:
        report.symbols[state.symbol] = state.summary()
    if states:
        summaries = pooled([state.core for state in states])
        report.pooled = dict(zip(states[0].forecasters, summaries, strict=True))
    return report
