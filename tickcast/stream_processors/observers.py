"""Observers: what watches the batches without writing anything (the runtime tells them at
the cut and once a batch is written)."""

from __future__ import annotations

import math

from tickcast.monitor.prometheus import (
    DRIFT_EVENTS,
    MODEL_ROLLING,
    observe_pipeline,
    observe_processing,
)
from tickcast.stream_processors.outputs import Outputs
from tickcast.stream_processors.pipeline import Pipeline

__all__ = ["ROLLING_METRICS", "PrometheusObserver"]

# a model's rolling scores as gauges; a network's gradient norms too (NaN, so no series, otherwise)
ROLLING_METRICS = (
    "mae",
    "mae_ratio_vs_random_walk",
    "coverage",
    "hit_rate",
    "bias",
    "in_sample_mae",
    "grad_norm_input",
    "grad_norm_output",
)


class PrometheusObserver:
    """Rolling quality per symbol and model, drift events, the ticks by verdict and the dead
    letters by code as Prometheus series; the forecasts written and their processing latency.
    Gauges cover the first ``max_symbols`` symbols only, so the label set stays bounded."""

    def __init__(self, max_symbols: int = 100) -> None:
        self.max_symbols = max_symbols
        self.symbols: set[str] = set()
        self.seen: dict[str, int] = {}  # the counters' values at the last cut

    def observe(self, outputs: Outputs, pipeline: Pipeline) -> None:
        for symbol, model, values in outputs.newest_rolling(ROLLING_METRICS):
            if self._tracked(symbol):
                for metric, value in values.items():
                    if math.isfinite(value):
                        MODEL_ROLLING.labels(symbol, model, metric).set(value)
        for event in outputs.drift_events():
            symbol = event.symbol if self._tracked(event.symbol) else "_other"
            DRIFT_EVENTS.labels(symbol, event.kind).inc()
        observe_pipeline(pipeline.counts, pipeline.invalid_reasons, self.seen)

    def written(self, arrivals: list[tuple[float, int]]) -> None:
        observe_processing(arrivals)

    def _tracked(self, symbol: str) -> bool:
        if symbol not in self.symbols:
            if len(self.symbols) >= self.max_symbols:
                return False
            self.symbols.add(symbol)
        return True
