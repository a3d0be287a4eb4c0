"""Prometheus series of the pipeline and the API.

The pipeline is observed at flush time from its counters (no per-tick metric calls on the hot
path); the API times each request in a middleware.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge, Histogram

__all__ = [
    "API_LATENCY",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "DRIFT_EVENTS",
    "END_TO_END_LATENCY",
    "EVENT_LOOP_STALL",
    "FORECASTS",
    "MODEL_ROLLING",
    "PROCESSING_LATENCY",
    "PUBLISHED",
    "SINK_BATCH_ROWS",
    "SINK_FAILURES",
    "TICKS",
    "REGISTRY_CHECKPOINTS",
    "observe_pipeline",
    "observe_processing",
    "observe_registry",
]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TICKS = PromCounter("tickcast_ticks_total", "Ticks consumed, by outcome", ["status"])
DEAD_LETTERS = PromCounter(
    "tickcast_ticks_invalid_total",
    "Messages that could not become ticks, by reason code (the full reason is in the DLQ)",
    ["reason"],
)
FORECASTS = PromCounter("tickcast_forecasts_total", "Served forecasts written (one per tick)")
PROCESSING_LATENCY = Histogram(
    "tickcast_processing_latency_seconds",
    "From a tick's arrival in the process (before decoding) to its outputs written",
    buckets=LATENCY_BUCKETS,
)
END_TO_END_LATENCY = Histogram(
    "tickcast_end_to_end_latency_seconds",
    "From the producer's send (produced_at header) to the latest forecast handed to the latest "
    "store's writer, for the ticks that were forecast",
    buckets=LATENCY_BUCKETS,
)
EVENT_LOOP_STALL = Histogram(
    "tickcast_event_loop_stall_seconds",
    "How late a short sleep on the worker's event loop woke up: the time some step held the "
    "loop, and every forecast behind it",
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "tickcast_consumer_lag", "Records not yet processed, per partition", ["topic", "partition"]
)
SINK_BATCH_ROWS = Histogram(
    "tickcast_sink_batch_rows",
    "Rows (or messages) per sink write",
    ["sink"],
    buckets=(1, 10, 100, 1000, 5000, 20000, 100000),
)
SINK_FAILURES = PromCounter("tickcast_sink_failures_total", "Failed sink writes", ["sink"])
MODEL_ROLLING = Gauge(
    "tickcast_model_rolling",
    "Rolling prequential metric per symbol and model (symbols up to TICKCAST_METRICS_SYMBOLS)",
    ["symbol", "model", "metric"],
)
DRIFT_EVENTS = PromCounter(
    "tickcast_drift_events_total", "Drift detected, by kind", ["symbol", "kind"]
)
PUBLISHED = PromCounter("tickcast_published_total", "Ticks the producer published", ["outcome"])
API_LATENCY = Histogram(
    "tickcast_api_request_seconds",
    "API request latency by route",
    ["route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


def observe_pipeline(
    counts: Mapping[str, int], reasons: Mapping[str, int], seen: dict[str, int]
) -> None:
    """Add what the counters gained since the last call (``seen`` remembers the last values)."""
    for prefix, counter, metric in (("s:", counts, TICKS), ("r:", reasons, DEAD_LETTERS)):
        for key, value in counter.items():
            delta = value - seen.get(prefix + key, 0)
            if delta:
                metric.labels(key).inc(delta)
                seen[prefix + key] = value


def observe_processing(arrivals: list[tuple[float, int]]) -> None:
    """Count the forecasts of the ticks that arrived as (arrival in perf_counter seconds,
    ticks) as out, and observe their processing latency: now, their outputs having been
    written (``observe_many``: one call per arrival, not per tick)."""
    if not arrivals:
        return
    now = time.perf_counter()
    FORECASTS.inc(sum(n for _, n in arrivals))
    for arrival, n in arrivals:
        observe_many(PROCESSING_LATENCY, now - arrival, n)


def observe_many(histogram: Histogram, value: float, n: int) -> None:
    """``histogram.observe(value)`` ``n`` times, at the cost of one: the bucket and the sum
    move by ``n`` (prometheus_client's own fields; tests hold it to ``observe``)."""
    histogram._sum.inc(value * n)
    for bucket, bound in zip(histogram._buckets, histogram._upper_bounds, strict=True):
        if value <= bound:
            bucket.inc(n)
            break


REGISTRY_CHECKPOINTS = PromCounter(
    "tickcast_registry_checkpoints_total",
    "Checkpoints by what became of them in the registry's process: written, refused (dropped), "
    "replaced (by a newer one of the symbol while it waited), failures (attempts that will be "
    "tried again)",
    ["outcome"],
)


def observe_registry(now: Any, before: Any) -> None:
    """Count what the registry's process reported since its last report (both are its Stats:
    counts since it started)."""
    for outcome in ("written", "refused", "replaced", "failures"):
        if (grown := getattr(now, outcome) - getattr(before, outcome)) > 0:
            REGISTRY_CHECKPOINTS.labels(outcome).inc(grown)
