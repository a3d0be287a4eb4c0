"""Observing the system from outside the core: Prometheus metrics."""

from tickcast.monitor.metrics import (
    API_LATENCY,
    CONSUMER_LAG,
    DEAD_LETTERS,
    DRIFT_EVENTS,
    END_TO_END_LATENCY,
    FORECASTS,
    MODEL_ROLLING,
    PROCESSING_LATENCY,
    PUBLISHED,
    SINK_BATCH_ROWS,
    SINK_FAILURES,
    TICKS,
    observe_pipeline,
)

__all__ = [
    "API_LATENCY",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "DRIFT_EVENTS",
    "END_TO_END_LATENCY",
    "FORECASTS",
    "MODEL_ROLLING",
    "PROCESSING_LATENCY",
    "PUBLISHED",
    "SINK_BATCH_ROWS",
    "SINK_FAILURES",
    "TICKS",
    "observe_pipeline",
]
