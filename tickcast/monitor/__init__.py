"""Observing the system from outside the core: Prometheus series (``monitor.prometheus``).

Drift detection is part of each symbol's learner (``online_model.drift``), so it replays and
recovers with the models it watches.
"""
