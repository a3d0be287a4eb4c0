"""A worker on the stack's secure broker, logged in as its role, with hostile messages between
valid ticks: every valid tick forecast exactly once, every hostile message in the dead-letter
topic with its code, and the agent never restarted (two of these crashed it: a 5,000-digit ts
and a 5,000-digit seq, each an int() of a string)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from tests.conftest import SecureKafka
from tests.integration.kafka_support import TopicCollector, Worker, forecasts_of, worker_env
from tickcast.messages import MAX_MESSAGE_BYTES
from tickcast.producers import synthetic_ticks

pytestmark = pytest.mark.e2e
VALID = 4500
HOSTILE: list[tuple[bytes | None, bytes, str]] = [  # key, value, the code it must get
    (b"SYN000", orjson.dumps({"symbol": "SYN000", "ts": "9" * 5000, "price": 1.0}), "bad_ts"),
    (
        b"SYN000",
        orjson.dumps(
            {"symbol": "SYN000", "ts": 1_700_000_000_000, "price": 1.0, "seq": "9" * 5000}
        ),
        "bad_seq",
    ),
    (
        b"CCC\n",
        orjson.dumps({"symbol": "CCC\n", "ts": 1_700_000_000_000, "price": 1.0}),
        "bad_symbol",
    ),
    (b"SYN001", b"\xff\xfe not json", "not_json"),
    (b"SYN001", b"[" * 5000 + b"]" * 5000, "not_json"),
    (b"SYN001", b"x" * (3 * MAX_MESSAGE_BYTES), "too_large"),
    (b"SYN001", orjson.dumps([{"symbol": "SYN001"}]), "not_an_object"),
    (
        b"SYN002",
        orjson.dumps({"symbol": "SYN002", "ts": 1_700_000_000_000, "price": {"a": 1}}),
        "bad_price",
    ),
    (
        b"SYN002",
        orjson.dumps({"symbol": "SYN002", "ts": "0001-01-01T00:00:00+01:00", "price": 1.0}),
        "bad_ts",
    ),
    (b"AAPL", orjson.dumps({"symbol": "SYN003", "ts": 1_700_000_000_000, "price": 1.0}), "bad_key"),
    (None, orjson.dumps({"symbol": "SYN003", "ts": 1_700_000_000_001, "price": 1.0}), "bad_key"),
    (
        b"SYN004",
        orjson.dumps({"symbol": "SYN004", "ts": 4_000_000_000_000, "price": 1.0}),
        "ahead_of_clock",
    ),
    (b"SYN004", b"", "not_json"),
]


def test_hostile_messages_between_valid_ticks_become_dead_letters_and_nothing_else(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    env = worker_env(secure_kafka.bootstrap, tmp_path) | secure_kafka.env("worker")
    secure_kafka.grant(env)
    forecasts = TopicCollector(
        secure_kafka.bootstrap, env["TICKCAST_FORECASTS_TOPIC"], secure_kafka.auth("reader")
    )
    letters = TopicCollector(
        secure_kafka.bootstrap, env["TICKCAST_DLQ_TOPIC"], secure_kafka.auth("reader")
    )
    worker = Worker(env, tmp_path / "worker.log", cwd=tmp_path)
    try:
        worker.wait_assigned()
        producer = Producer(secure_kafka.auth("producer").librdkafka())
        ticks = list(synthetic_ticks(VALID, 5, seed=23))
        every = VALID // len(HOSTILE)
        for i, tick in enumerate(ticks):
            producer.produce(env["TICKCAST_TICKS_TOPIC"], orjson.dumps(tick), tick["symbol"])
            if i % every == every // 2 and i // every < len(HOSTILE):
                key, value, _ = HOSTILE[i // every]
                producer.produce(env["TICKCAST_TICKS_TOPIC"], value, key)
        assert producer.flush(30) == 0
        forecasts.wait_for(VALID, timeout=120)
        letters.wait_for(len(HOSTILE), timeout=60)
        assert worker.proc.poll() is None, worker.text()[-3000:]  # alive through all of it
        assert worker.stop() == 0, worker.text()[-3000:]
        # nothing more comes: no repeat, no late letter, up to the topics' ends after the stop
        messages, dead = forecasts.wait_caught_up(), letters.wait_caught_up()
    finally:
        if worker.proc.poll() is None:
            worker.stop()
        forecasts.close()
        letters.close()
    served = [f for f in forecasts_of(messages) if f.model == "served"]
    identities = [(f.symbol, f.ts, f.seq) for f in served]
    assert len(identities) == len(set(identities)) == VALID  # each valid tick exactly once
    codes = sorted(dict(letter.headers)["code"].decode() for letter in dead)
    assert codes == sorted(code for _, _, code in HOSTILE)
    assert all(len(letter.value) <= MAX_MESSAGE_BYTES for letter in dead)
    log = worker.text()
    for sign in ("Traceback", "Crashed", "Restarting", "exiting without acknowledging"):
        assert sign not in log, log[-3000:]
