"""The shell around the core: the pure pipeline, the runtime that owns a batch, its sinks and
observers, where states come from, and the drivers: the embedded runner here, the Faust worker
in ``faust_app`` and ``worker``."""

from tickcast.stream_processors.embedded import run_embedded
from tickcast.stream_processors.observers import PrometheusObserver
from tickcast.stream_processors.outputs import DeadLetter, Outputs
from tickcast.stream_processors.pipeline import Pipeline
from tickcast.stream_processors.runtime import Runtime
from tickcast.stream_processors.sinks import (
    ClickHouseSink,
    LatestSink,
    MemorySink,
    RegistrySink,
    Sink,
)

__all__ = [
    "ClickHouseSink",
    "DeadLetter",
    "LatestSink",
    "MemorySink",
    "Outputs",
    "Pipeline",
    "PrometheusObserver",
    "RegistrySink",
    "Runtime",
    "Sink",
    "run_embedded",
]
