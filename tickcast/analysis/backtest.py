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
from tickcast.contract import MetricName
from tickcast.messages import finite
from tickcast.online_model import BASELINE, SERVED, CoreConfig
from tickcast.stream_processors import Sink, run_embedded
from tickcast.stream_processors.outputs import Outputs

__all__ = ["BacktestReport", "LearningCurves", "fit_verdicts", "run_backtest"]

BATCH = 10_000
CURVE_POINTS = 200  # at most this many points per symbol and model: a long replay stays small
CURVE_FIELDS = ("mae", "in_sample_mae", "grad_norm_input", "grad_norm_output")
OVERFIT = 0.9  # in-sample MAE below this share of the prequential MAE: it learned the noise


class LearningCurves:
    """A sink that keeps, per symbol and model, the rolling prequential MAE beside the
    in-sample MAE (and a network's gradient norms) at each metric snapshot: every
    ``stride``-th snapshot, the stride doubling whenever a series would pass
    ``CURVE_POINTS``, so memory is bounded however long the replay."""

    name = "learning_curves"

    def __init__(self, points: int = CURVE_POINTS) -> None:
        self.points = points
        self.series: dict[tuple[str, str], dict[str, list[Any]]] = {}
        self.seen: dict[tuple[str, str], int] = {}
        self.stride: dict[tuple[str, str], int] = {}
        self.last: dict[tuple[str, str], int] = {}  # the newest snapshot's event time

    def part(self, outputs: Outputs) -> Outputs:
        return outputs

    async def write(self, part: Outputs) -> None:
        for row in part.metric_rows():
            if row.window == "rolling":
                self.add(row.symbol, row.model, row.ts, [getattr(row, f) for f in CURVE_FIELDS])

    def add(self, symbol: str, model: str, ts: int, values: list[float]) -> None:
        """One snapshot; one at or before the series' last (a batch written again) is passed
        over."""
        key = (symbol, model)
        if ts <= self.last.get(key, -(2**63)):
            return
        self.last[key] = ts
        seen = self.seen[key] = self.seen.get(key, -1) + 1
        stride = self.stride.setdefault(key, 1)
        if seen % stride:
            return
        series = self.series.setdefault(key, {"ts": [], **{f: [] for f in CURVE_FIELDS}})
        series["ts"].append(ts)
        for name, value in zip(CURVE_FIELDS, values, strict=True):
            series[name].append(value)
        if len(series["ts"]) >= 2 * self.points:  # thin to every other point
            for column in series.values():
                del column[1::2]
            self.stride[key] = 2 * stride

    def to_dict(self) -> dict[str, dict[str, dict[str, list[Any]]]]:
        curves: dict[str, dict[str, dict[str, list[Any]]]] = {}
        for (symbol, model), series in self.series.items():
            curves.setdefault(symbol, {})[model] = series
        return curves


def fit_verdicts(pooled: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per model, whether it over-fits (its in-sample MAE well below its prequential MAE),
    under-fits (even on the ticks it learned it is no closer than the random walk) or fits,
    with the figures and one sentence that says so."""
    baseline = pooled.get(BASELINE, {}).get("mae")
    verdicts = {}
    for model, m in pooled.items():
        before, after = m.get("mae"), m.get("in_sample_mae")
        if model in (BASELINE, SERVED) or not before or after is None or baseline is None:
            continue
        ratio = after / before
        if ratio < OVERFIT:
            verdict = "over-fits"
            why = f"on the ticks it learned its error is {1 - ratio:.0%} below its error on "
            why += "ticks it had not seen"
        elif after >= baseline:
            verdict = "under-fits"
            why = "even on the ticks it learned it is no closer than the random walk (too "
            why += "little capacity or learning, or no signal to fit)"
        else:
            verdict = "fits"
            why = f"its in-sample and prequential errors agree ({ratio:.2f})"
        verdicts[model] = {
            "verdict": verdict,
            "in_sample_over_prequential": ratio,
            "words": f"{model} {verdict}: {why}",
        }
    return verdicts


@dataclass
class BacktestReport:
    """Cumulative metrics per symbol and model, pooled over symbols, and message counts."""

    config: CoreConfig
    symbols: dict[str, dict[str, dict[MetricName, float]]] = field(default_factory=dict)
    pooled: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    invalid_reasons: dict[str, int] = field(default_factory=dict)  # reason code -> count
    invalid_examples: dict[str, str] = field(default_factory=dict)  # code -> first reason
    learning_curves: dict[str, dict[str, dict[str, list[Any]]]] = field(default_factory=dict)
    gradient_norms: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = finite(
            {
                "horizon": self.config.horizon,
                "interval_level": self.config.level,
                "models": [m.name for m in self.config.models] + [SERVED],
                "counts": self.counts,
                "invalid_reasons": self.invalid_reasons,
                "invalid_examples": self.invalid_examples,
                "pooled": self.pooled,
                "fit": fit_verdicts(self.pooled),
                "symbols": self.symbols,
                "gradient_norms": self.gradient_norms,
                "learning_curves": self.learning_curves,
            }
        )
        return result


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

    curves = LearningCurves()
    runtime = bootstrap.runtime(
        config,
        [*sinks, curves],
        source="backtest",
        flush_interval_s=math.inf,
        flush_max_rows=BATCH,
    )
    asyncio.run(run_embedded(records, runtime, on_progress=on_progress))
    pipeline = runtime.pipeline
    report = BacktestReport(config, counts=dict(pipeline.counts))
    report.invalid_reasons = dict(pipeline.invalid_reasons)
    report.invalid_examples = dict(pipeline.invalid_examples)
    states = list(pipeline.states)
    report.learning_curves = curves.to_dict()
    for state in states:
        report.symbols[state.symbol] = state.summary()
        norms = zip(state.names, state.gradient_norms, strict=True)
        networks = {name: layers for name, layers in norms if layers is not None}
        if networks:
            report.gradient_norms[state.symbol] = networks
    if states:
        summaries = pooled([state.core for state in states])
        report.pooled = dict(zip(states[0].forecasters, summaries, strict=True))
    return report
