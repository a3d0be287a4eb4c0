"""Prometheus metrics of the pipeline and the API.

The pipeline is observed at flush time from its counters (no per-tick metric calls on the hot
path); the API times each request in a middleware.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram

__all__ = ["API_LATENCY", "DEAD_LETTERS", "TICKS", "observe_pipeline"]

TICKS = PromCounter("tickcast_ticks_total", "Ticks consumed, by outcome", ["status"])
DEAD_LETTERS = PromCounter(
    "tickcast_ticks_invalid_total", "Messages that could not become ticks, by reason", ["reason"]
)
API_LATENCY = Histogram(
    "tickcast_api_request_seconds",
    "API request latency by route",
    ["route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


def observe_pipeline(counts: Counter[str], reasons: Counter[str], seen: dict[str, int]) -> None:
    """Add what the counters gained since the last call (``seen`` remembers the last values)."""
    for prefix, counter, metric in (("s:", counts, TICKS), ("r:", reasons, DEAD_LETTERS)):
        for key, value in counter.items():
            delta = value - seen.get(prefix + key, 0)
            if delta:
                metric.labels(key).inc(delta)
                seen[prefix + key] = value
