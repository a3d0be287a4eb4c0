"""Drivers of the core: the embedded runner (and, with Kafka, the Faust worker) plus sinks."""

from tickcast.stream_processors.embedded import run_embedded
from tickcast.stream_processors.pipeline import Pipeline
from tickcast.stream_processors.sinks import (
    ClickHouseSink,
    DeadLetter,
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
    "Pipeline",
    "PrometheusSink",
    "Sink",
    "run_embedded",
]
