"""`tickcast produce` against a real broker: keys, JSON values, headers, dead letters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import orjson
import pytest
from kafka.partitioner.default import murmur2

from tests.factories import write_long_csv
from tests.integration.kafka_support import TICKCAST, TopicCollector, worker_env
from tickcast.config import KafkaAuth
from tickcast.monitor.prometheus import PUBLISHED
from tickcast.producers.kafka_publisher import PRODUCED_AT, REASON, TickPublisher
from tickcast.records import parse_tick

pytestmark = pytest.mark.integration


def test_produce_publishes_valid_ticks_keyed_by_symbol_and_dead_letters_the_rest(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = worker_env(kafka_bootstrap, tmp_path)
    path = write_long_csv(tmp_path / "ticks.csv", ["AAPL", "MSFT"], n=100)
    with path.open("a") as handle:
        handle.write("AAPL,2024-03-01T15:00:00Z,-1,5\nMSFT,not-a-time,10,5\n")
    ticks = TopicCollector(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"])
    dlq = TopicCollector(kafka_bootstrap, env["TICKCAST_DLQ_TOPIC"])
    result = subprocess.run(
        [TICKCAST, "produce", str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"published": 200, "invalid": 2}
    assert summary["ticks_per_s"] > 0

    messages = ticks.wait_for(200, timeout=30)
    letters = dlq.wait_for(2, timeout=30)
    ticks.close()
    dlq.close()
    assert len(messages) == 200
    for message in messages:
        tick = parse_tick(orjson.loads(message.value))
        assert message.key == tick.symbol.encode()
        # the Java client's partitioner, so other clients' ticks of a symbol land alongside
        assert message.partition == (murmur2(message.key) & 0x7FFFFFFF) % 4
        assert int(dict(message.headers)[PRODUCED_AT]) > 1_700_000_000_000
    per_symbol = [parse_tick(orjson.loads(m.value)) for m in messages if m.key == b"AAPL"]
    assert [t.ts for t in per_symbol] == sorted(t.ts for t in per_symbol)  # order kept per key
    reasons = sorted(dict(m.headers)[REASON].decode() for m in letters)
    assert reasons == [
        "price must be positive, got -1.0",
        "ts 'not-a-time' is neither epoch ms nor ISO-8601",
    ]


def test_produce_without_a_broker_fails_with_one_line(tmp_path: Path) -> None:
    env = worker_env("127.0.0.1:9", tmp_path)
    result = subprocess.run(
        [TICKCAST, "produce", "--synthetic", "10"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "error: Kafka at 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_ticks_the_broker_never_takes_are_counted_as_failed() -> None:
    publisher = TickPublisher(KafkaAuth("127.0.0.1:9"), "t", "t.dlq", delivery_timeout_ms=1000)
    before = PUBLISHED.labels("failed")._value.get()
    counts = publisher.publish_all(
        {"symbol": "AAPL", "ts": 1_704_099_600_000 + i, "price": 1.0} for i in range(20)
    )
    assert counts == {"published": 20, "failed": 20}
    assert PUBLISHED.labels("failed")._value.get() - before == 20
