"""One contract every sink, state sink and latest store keeps, checked against the real services
(River's ``check_estimator`` way: one suite, every implementation; the backtest's outcomes file
is the one sink apart: Parquet has no reading back before it is closed, and nothing retries a
file's write):

- ``part()`` has no side effect: taking a part twice writes nothing;
- a retry after a partial write (staged by writing a part of the first half of the ticks
  first) stores each record once;
- a write is idempotent: writing the same batch again stores nothing new.

What is stored is read back from the service itself (ClickHouse's rows, the topic's messages,
Redis's values, the registry's versions), never from the sink.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CODEC
from tests.eventually import eventually
from tests.integration.kafka_support import TopicCollector
from tickcast.analysis.backtest import LearningCurves
from tickcast.config import KafkaAuth
from tickcast.online_model import CoreConfig
from tickcast.online_model.checkpoints import Checkpoint
from tickcast.producers import synthetic_ticks
from tickcast.producers.kafka_publisher import ensure_topics
from tickcast.stores import ClickHouseStore, InMemoryLatestStore, LatestStore, RedisLatestStore
from tickcast.stores.registry import Registry
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors import (
    ClickHouseSink,
    LatestSink,
    MemorySink,
    Outputs,
    Pipeline,
    RegistrySink,
)
from tickcast.stream_processors.bounds import Bounds
from tickcast.stream_processors.kafka_outputs import (
    ChangelogSink,
    DeadLetterSink,
    KafkaOutputs,
    TopicSink,
)

pytestmark = pytest.mark.integration
NOW_MS = 1_800_000_000_000
RECORDS: list[Any] = [
    *synthetic_ticks(600, 3, seed=9),
    {"symbol": "AAPL", "ts": "soon", "price": 1.0},  # dead letters too
    b"not json",
]


def cut(records: list[Any]) -> tuple[Outputs, Pipeline]:
    """The outputs of ``records`` through a fresh pipeline (the same records, the same
    outputs), with the checkpoints it took every 100 labels."""
    pipeline = Pipeline(CoreConfig(), codec=CODEC, cadence=(100, 0, 0), messages=True)
    pipeline.process(records, Bounds().window(NOW_MS), NOW_MS)
    return pipeline.take(), pipeline


@dataclass
class Subject:
    """A sink, how to take its part of a batch and how to read back what its service holds."""

    sink: Any
    stored: Callable[[], Any]
    part: Callable[[Outputs, Pipeline], Any] = field(
        default_factory=lambda: lambda outputs, pipeline: None
    )
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def take(self, records: list[Any]) -> Any:
        outputs, pipeline = cut(records)
        return self.part(outputs, pipeline)

    def write(self, part: Any) -> None:
        self.loop.run_until_complete(self.sink.write(part))


def check(subject: Subject, idempotent: bool = True) -> Any:
    """The contract (see the module); returns what the service holds after one batch."""
    nothing = subject.stored()
    subject.take(RECORDS)
    subject.take(RECORDS)
    assert subject.stored() == nothing, "part() wrote something"
    subject.write(subject.take(RECORDS[: len(RECORDS) // 2]))  # a write cut short...
    subject.write(subject.take(RECORDS))  # ...and the batch written again, whole
    once = subject.stored()
    assert once != nothing
    if idempotent:
        subject.write(subject.take(RECORDS))
        assert subject.stored() == once, "writing the same batch again stored more"
    return once


def sink_part(sink: Any) -> Callable[[Outputs, Pipeline], Any]:
    return lambda outputs, pipeline: sink.part(outputs)


def test_the_clickhouse_sink(clickhouse: ClickHouseStore) -> None:
    sink = ClickHouseSink(clickhouse, "all")

    def stored() -> dict[str, int]:
        tables = ("ticks", "forecasts", "labels", "model_metrics", "drift_events", "dead_letters")
        return {t: clickhouse.query(f"SELECT count() AS n FROM {t} FINAL")[0]["n"] for t in tables}

    found = check(Subject(sink, stored, sink_part(sink)))
    outputs, _ = cut(RECORDS)
    assert found["ticks"] == outputs.rows("ticks") == 600
    assert found["forecasts"] == outputs.rows("forecasts")
    assert found["dead_letters"] == 2


@dataclass
class Kafka:
    """A producer of the worker's kind on one loop (aiokafka's clients keep theirs), a topic."""

    outputs: KafkaOutputs
    bootstrap: str
    topic: str
    loop: asyncio.AbstractEventLoop


@pytest.fixture
def kafka(kafka_bootstrap: str) -> Iterator[Kafka]:
    topic = f"contract-{uuid.uuid4().hex[:8]}"
    ensure_topics(KafkaAuth(kafka_bootstrap), {topic: 4})
    outputs = KafkaOutputs(KafkaAuth(kafka_bootstrap), f"{topic}-client")
    loop = asyncio.new_event_loop()
    yield Kafka(outputs, kafka_bootstrap, topic, loop)
    loop.run_until_complete(outputs.stop())
    loop.close()


def topic_reader(bootstrap: str, topic: str) -> Callable[[], frozenset[tuple[Any, ...]]]:
    """The topic's distinct messages: a consumer of a topic sees a retried batch's records
    again (at least once), with the same identity; what it must never see is another one."""

    def stored() -> frozenset[tuple[Any, ...]]:
        reader = TopicCollector(bootstrap, topic)
        try:
            messages = reader.wait_caught_up()
        finally:
            reader.close()
        return frozenset((m.key, m.value, tuple(m.headers)) for m in messages)

    return stored


def test_the_forecasts_topic_sink(kafka: Kafka) -> None:
    sink = TopicSink(kafka.outputs, kafka.topic)
    reader = topic_reader(kafka.bootstrap, kafka.topic)
    found = check(Subject(sink, reader, sink_part(sink), kafka.loop))
    assert len(found) == 600  # one message a tick


def test_the_dead_letter_sink(kafka: Kafka) -> None:
    sink = DeadLetterSink(kafka.outputs, kafka.topic)
    reader = topic_reader(kafka.bootstrap, kafka.topic)
    found = check(Subject(sink, reader, sink_part(sink), kafka.loop))
    assert {value for _, value, _ in found} == {
        b"not json",
        b'{"symbol":"AAPL","ts":"soon","price":1.0}',
    }


class Changelog:
    """Faust's table as the changelog sink uses it: its copy in memory and its topic's name."""

    def __init__(self, topic: str) -> None:
        self.data: dict[bytes, bytes] = {}
        self.changelog_topic = self
        self.topic = topic

    def get_topic_name(self) -> str:
        return self.topic


def test_the_changelog_state_sink(kafka: Kafka) -> None:
    table = Changelog(kafka.topic)
    sink = ChangelogSink(kafka.outputs, table, lambda symbol: 0)
    on_topic = topic_reader(kafka.bootstrap, kafka.topic)

    def states(outputs_: Outputs, pipeline: Pipeline) -> Any:
        pipeline.take_dirty()  # the moved symbols, as the runtime takes them
        moved = {s: CODEC.encode(state) for s, state in pipeline.states.states.items()}
        return sink.part(moved)

    def stored() -> tuple[dict[bytes, bytes], int]:
        return dict(table.data), len({key for key, _, _ in on_topic()})

    found = check(Subject(sink, stored, states, kafka.loop))
    _, whole = cut(RECORDS)
    assert found[0] == {s.encode(): CODEC.encode(st) for s, st in whole.states.states.items()}
    assert found[1] == 3  # one key per symbol on the topic (compacted: the newest stays)


@pytest.fixture(params=["redis", "memory"])
def latest_store(request: pytest.FixtureRequest, redis_clean: str) -> Iterator[LatestStore]:
    store: LatestStore = (
        RedisLatestStore(redis_clean) if request.param == "redis" else InMemoryLatestStore()
    )
    yield store
    close = getattr(store, "close", None)
    if close is not None:
        close()


def test_the_latest_sink_over_each_latest_store(latest_store: LatestStore) -> None:
    sink = LatestSink(latest_store)

    def write(forecasts: Any) -> None:
        sink.write(forecasts)
        sink.wait(10)

    def stored() -> dict[str, tuple[int, int]]:
        return {s: (f.ts, f.seq) for s in latest_store.symbols() if (f := latest_store.get(s))}

    subject = Subject(sink, stored, lambda outputs, pipeline: outputs.latest())
    subject.write = write  # type: ignore[method-assign]
    found = check(subject)
    newest = {f.symbol: (f.ts, f.seq) for f in cut(RECORDS)[0].latest()}
    assert found == newest  # latest wins: the half written first never shows


def test_the_memory_sink() -> None:
    memory = MemorySink()
    found = check(
        Subject(memory, lambda: (len(memory.ticks), len(memory.forecasts)), sink_part(memory))
    )
    assert found[0] == 600


def test_the_learning_curves_of_a_backtest() -> None:
    curves = LearningCurves()

    def stored() -> dict[tuple[str, str], int]:
        return {key: len(series["ts"]) for key, series in curves.series.items()}

    found = check(Subject(curves, stored, sink_part(curves)))
    assert len(found) == 3 * len(CoreConfig().forecasters)


def test_the_registry_sink(tmp_path: Path) -> None:
    """Checkpoints become versions, which are not idempotent: a part's checkpoints are handed
    over one by one and a retry of that part hands over only the rest (the runtime takes a
    cut's checkpoints once); the half staged first took its own checkpoint of SYN000 (at its
    100th label, as the whole did), so SYN000 has two versions."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = BackgroundRegistry(uri, watch=False).start()
    sink = RegistrySink(registry)

    def checkpoints(outputs: Outputs, pipeline: Pipeline) -> list[Checkpoint]:
        return pipeline.take_checkpoints()

    def stored() -> dict[str, int]:
        eventually(lambda: registry.pending == 0, 60, "the checkpoints handed over, written")
        return {s: len(Registry(uri).versions(s)) for s in Registry(uri).symbols()}

    subject = Subject(sink, stored, checkpoints)
    try:
        found = check(subject, idempotent=False)
        part = subject.take(RECORDS)
        subject.write(part)
        assert part == []  # handed over: a retry of this part hands over nothing again
    finally:
        registry.close(timeout=30)
    assert found == {"SYN000": 2, "SYN001": 1, "SYN002": 1}
