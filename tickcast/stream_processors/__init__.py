"""The shell around the core: the pipeline, the runtime that owns a batch, its sinks, and the
embedded runner (the Faust worker is in ``faust_app`` and ``worker``)."""

from tickcast.stream_processors.embedded import run_embedded
from tickcast.stream_processors.outputs import DeadLetter, Outputs
from tickcast.stream_processors.pipeline import Pipeline
from tickcast.stream_processors.runtime import Runtime
from tickcast.stream_processors.sinks import (
    ClickHouseSink,
    LatestSink,
    MemorySink,
    PrometheusSink,
    Sink,
)

__all__ = [
    "ClickHouseSink",
    "DeadLetter",
    "LatestSink",
    "MemorySink",
    "Outputs",
    "Pipeline",
    "PrometheusSink",
    "Runtime",
    "Sink",
    "run_embedded",
]
