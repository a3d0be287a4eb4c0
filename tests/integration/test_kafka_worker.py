"""`tickcast worker` on a real Kafka broker: outputs, recovery after SIGKILL, scaling, bad input."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.eventually import eventually, pause
from tests.integration.kafka_support import (
    TopicCollector,
    Worker,
    assert_same_forecasts,
    forecasts_of,
    identity_sorted,
    publish,
    worker_env,
)
from tickcast.analysis.backtest import run_backtest
from tickcast.api import Services, create_app
from tickcast.config import KafkaAuth
from tickcast.messages import MAX_MESSAGE_BYTES
from tickcast.online_model import SERVED, CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.producers.kafka_publisher import REASON, ensure_topics
from tickcast.records import Forecast
from tickcast.stores import ClickHouseStore, RedisLatestStore
from tickcast.stream_processors import MemorySink

pytestmark = pytest.mark.integration
N_MODELS = len(CoreConfig().models) + 1


def expected_forecasts(records: list[dict[str, object]]) -> list[Forecast]:
    memory = MemorySink()
    run_backtest(records, CoreConfig(), sinks=[memory])
    return identity_sorted(memory.forecasts)


def served_of(forecasts: list[Forecast]) -> list[Forecast]:
    """What ClickHouse keeps by default (TICKCAST_CLICKHOUSE_FORECASTS=served)."""
    return [f for f in forecasts if f.model == SERVED]


def stored_forecasts(olap: Path) -> list[Forecast]:
    store = ClickHouseStore(f"chdb://{olap}")
    store.setup()
    try:
        return identity_sorted(store.records("forecasts", Forecast))
    finally:
        store.close()


def prepare(bootstrap: str, env: dict[str, str]) -> None:
    ensure_topics(
        KafkaAuth(bootstrap), {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    )


def test_worker_forecasts_reach_kafka_clickhouse_and_redis_identical_to_backtest(
    kafka_bootstrap: str, redis_clean: str, tmp_path: Path
) -> None:
    env = worker_env(kafka_bootstrap, tmp_path, redis_url=redis_clean)
    env["TICKCAST_CLICKHOUSE_FORECASTS"] = "all"  # every model's rows, to compare them all
    prepare(kafka_bootstrap, env)
    records = list(synthetic_ticks(2000, 5, seed=21))
    worker = Worker(env, tmp_path / "worker.log")
    worker.wait_assigned()
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], records)
    messages = forecasts.wait_for(2000)
    assert worker.stop() == 0, worker.text()[-3000:]
    forecasts.wait_caught_up()  # what the stop wrote, if anything
    forecasts.close()

    expected = expected_forecasts(records)
    assert len(messages) == 2000
    assert all(len(forecasts_of([m])) == N_MODELS for m in messages)
    assert_same_forecasts(forecasts_of(messages), expected)
    assert all(m.key == forecasts_of([m])[0].symbol.encode() for m in messages)
    assert_same_forecasts(stored_forecasts(tmp_path / "olap"), expected)

    served = {f.symbol: f for f in expected if f.model == SERVED}  # the last per symbol wins
    latest = RedisLatestStore(redis_clean)
    assert {s: latest.get(s) for s in served} == served
    with TestClient(create_app(Services(RedisLatestStore(redis_clean), None))) as client:
        body = client.get("/forecasts/SYN003").json()
    assert body["predicted_price"] == served["SYN003"].predicted_price
    [started] = worker.events("started")
    assert started["command"] == "worker"
    assert started["clickhouse"].startswith("chdb://")


def test_worker_killed_mid_replay_resumes_from_recovered_state(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = worker_env(kafka_bootstrap, tmp_path)
    prepare(kafka_bootstrap, env)
    records = list(synthetic_ticks(6000, 4, seed=5))
    topic = env["TICKCAST_TICKS_TOPIC"]
    first = Worker(env, tmp_path / "first.log")
    first.wait_assigned()
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])

    def paced_publish() -> None:  # about 10 s of ticks, so the kill lands mid-replay
        for start in range(0, len(records), 150):
            publish(kafka_bootstrap, topic, records[start : start + 150])
            pause(0.25, "the producer's pace: the kill lands mid-replay")

    producer = threading.Thread(target=paced_publish)
    producer.start()
    forecasts.wait_for(1500, timeout=60)
    first.kill()  # SIGKILL: no flush, no goodbye
    killed_at = forecasts.distinct
    assert killed_at < 5000, "the worker was killed too late to test recovery"

    second = Worker(env, tmp_path / "second.log")
    producer.join()
    messages = forecasts.wait_for(6000, timeout=120)  # the dead member times out first
    assert second.stop() == 0, second.text()[-3000:]
    forecasts.close()

    expected = expected_forecasts(records)
    seen = forecasts_of(messages)
    assert_same_forecasts(seen, expected)  # nothing lost, nothing different
    by_identity = {(f.symbol, f.ts, f.model): f for f in expected}
    assert all(by_identity[(f.symbol, f.ts, f.model)] == f for f in seen)  # repeats identical
    assert_same_forecasts(stored_forecasts(tmp_path / "olap"), served_of(expected))
    assert second.events("state_recovered")  # state came from the changelog, not from scratch
    # The contrast that makes the equality above meaningful: a worker that had restarted from
    # fresh models would have forecast the later ticks differently.
    later = {(f.symbol, f.ts, f.model): f for f in expected_forecasts(records[3000:])}
    assert any(by_identity[key] != fresh for key, fresh in later.items())


def test_two_workers_share_partitions_and_match_one(kafka_bootstrap: str, tmp_path: Path) -> None:
    env = worker_env(kafka_bootstrap, tmp_path)
    prepare(kafka_bootstrap, env)
    records = list(synthetic_ticks(3000, 8, seed=8))
    env_a = {
        **env,
        "TICKCAST_CLICKHOUSE_URL": f"chdb://{tmp_path / 'olap-a'}",
        "TICKCAST_STATE_DIR": str(tmp_path / "state-a"),
    }
    env_b = {
        **env,
        "TICKCAST_CLICKHOUSE_URL": f"chdb://{tmp_path / 'olap-b'}",
        "TICKCAST_STATE_DIR": str(tmp_path / "state-b"),
    }
    a = Worker(env_a, tmp_path / "a.log")
    a.wait_assigned()
    b = Worker(env_b, tmp_path / "b.log")
    b.wait_assigned()
    eventually(lambda: len(a.events("partitions_assigned")) >= 2, 60, "a's share once b joined")
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], records)
    messages = forecasts.wait_for(3000)
    forecasts.close()
    assert a.stop() == 0
    assert b.stop() == 0

    expected = expected_forecasts(records)
    assert_same_forecasts(forecasts_of(messages), expected)
    part_a, part_b = stored_forecasts(tmp_path / "olap-a"), stored_forecasts(tmp_path / "olap-b")
    assert part_a
    assert part_b  # both did work
    assert_same_forecasts(part_a + part_b, served_of(expected))


def test_malformed_messages_go_to_the_dead_letter_topic_and_the_worker_goes_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    env = worker_env(kafka_bootstrap, tmp_path)
    prepare(kafka_bootstrap, env)
    bad: list[bytes] = [
        b"not json at all",
        b'{"symbol": "AAPL", "price": 10}',
        b'{"symbol": "AAPL", "ts": 1700000000000, "price": -2}',
        b'{"symbol": "AAPL", "ts": 1700000000000, "price": "ten"}',
        b'{"symbol": ["AAPL"], "ts": 1700000000000, "price": 1}',
        b'{"symbol": "AAPL", "ts": 1700000000000, "price": 1, "pad": "' + b"x" * 100_000 + b'"}',
    ]
    good = list(synthetic_ticks(300, 3, seed=4))
    worker = Worker(env, tmp_path / "worker.log")
    worker.wait_assigned()
    dlq = TopicCollector(kafka_bootstrap, env["TICKCAST_DLQ_TOPIC"])
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], good[:150] + bad + good[150:])
    letters = dlq.wait_for(len(bad))
    messages = forecasts.wait_for(300)
    assert worker.stop() == 0
    dlq.close()
    forecasts.close()

    assert len(messages) == 300
    reasons = {m.value: dict(m.headers)[REASON].decode() for m in letters}
    kept = [b[:MAX_MESSAGE_BYTES] for b in bad]  # an oversized one: its first 64 KB
    assert set(reasons) == set(kept)  # the original bytes, each once
    assert reasons[b"not json at all"].startswith("not JSON")
    assert reasons[bad[1]] == "ts is missing"
    assert reasons[bad[2]] == "price must be positive, got -2.0"
    assert reasons[bad[3]] == "price must be a number, got 'ten'"
    assert reasons[bad[4]] == "symbol must be a string"
    assert reasons[kept[5]].startswith("message of 100")
