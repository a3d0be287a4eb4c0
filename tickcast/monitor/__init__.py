"""Observing the system from outside the core: Prometheus metrics (drift detection follows)."""

from tickcast.monitor.metrics import API_LATENCY, DEAD_LETTERS, TICKS, observe_pipeline

__all__ = ["API_LATENCY", "DEAD_LETTERS", "TICKS", "observe_pipeline"]
