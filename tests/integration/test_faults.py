"""Faults on a real broker and a real Redis: the worker and the API ride them out."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import LocalBroker, RedisServer
from tests.eventually import eventually, pause
from tests.factories import make_forecast, replay
from tests.integration.kafka_support import (
    TICKCAST,
    TopicCollector,
    Worker,
    forecasts_of,
    identity_sorted,
    publish,
    worker_env,
)
from tests.isolated import logged
from tickcast.analysis.backtest import run_backtest
from tickcast.api import Services, create_app
from tickcast.config import KafkaAuth
from tickcast.exceptions import PermanentWriteError
from tickcast.online_model import SERVED, CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.producers.kafka_publisher import TickPublisher, ensure_topics
from tickcast.stores import ClickHouseStore, RedisLatestStore
from tickcast.stream_processors import ClickHouseSink, MemorySink

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_redis_down_for_ten_seconds_the_worker_goes_on_and_redis_catches_up(
    kafka_bootstrap: str, own_redis: RedisServer, tmp_path: Path
) -> None:
    env = worker_env(kafka_bootstrap, tmp_path, redis_url=own_redis.url)
    ensure_topics(
        KafkaAuth(kafka_bootstrap), {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    )
    records = list(synthetic_ticks(3000, 3, seed=41))
    worker = Worker(env, tmp_path / "worker.log")
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    served = RedisLatestStore(own_redis.url)
    api = TestClient(create_app(Services(served, None)))
    try:
        worker.wait_assigned()
        publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], records[:1000])
        forecasts.wait_for(1000)
        assert api.get("/forecasts/SYN000").status_code == 200

        own_redis.stop()
        down_since = time.monotonic()
        publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], records[1000:2000])
        during = forecasts.wait_for(2000, timeout=30)  # Kafka keeps flowing without Redis
        assert forecasts.distinct == 2000
        answer = api.get("/forecasts/SYN000")
        assert answer.status_code == 503
        assert answer.json()["detail"].startswith("the latest store is unavailable (request ")
        assert api.get("/ready").status_code == 503
        pause(max(0.0, 10 - (time.monotonic() - down_since)), "Redis stays down 10 s")

        own_redis.start()  # empty: Redis comes back without the values it had
        publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], records[2000:])
        messages = forecasts.wait_for(3000, timeout=60)
        eventually(
            lambda: api.get("/forecasts/SYN002").status_code == 200, 20, "SYN002 served again"
        )
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()
        api.close()
        served.close()  # its channel listener too

    assert len(during) >= 2000
    memory = MemorySink()
    run_backtest(records, CoreConfig(), sinks=[memory])
    assert identity_sorted(forecasts_of(messages)) == identity_sorted(memory.forecasts)
    last = {f.symbol: f for f in memory.forecasts if f.model == SERVED}
    latest = RedisLatestStore(own_redis.url)
    assert {symbol: latest.get(symbol) for symbol in last} == last  # caught up
    assert worker.events("latest_store_failed")
    assert worker.events("latest_store_back")


def test_broker_down_for_ten_seconds_producer_and_worker_resume_and_lose_nothing(
    tmp_path: Path,
) -> None:
    broker = LocalBroker(tmp_path / "kafka")
    broker.start()
    try:
        env = worker_env(broker.bootstrap, tmp_path)
        ensure_topics(
            KafkaAuth(broker.bootstrap),
            {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1},
        )
        records = list(synthetic_ticks(3000, 3, seed=43))
        worker = Worker(env, tmp_path / "worker.log")
        worker.wait_assigned()
        publisher = TickPublisher(
            KafkaAuth(broker.bootstrap), env["TICKCAST_TICKS_TOPIC"], env["TICKCAST_DLQ_TOPIC"]
        )

        def paced() -> None:  # about 12 s of ticks: the outage lands in the middle
            for start in range(0, len(records), 100):
                for record in records[start : start + 100]:
                    publisher.publish(record)
                pause(0.4, "the producer's pace: about 12 s of ticks")
            publisher.flush(120)

        producing = threading.Thread(target=paced)
        producing.start()
        eventually(lambda: publisher.counts["published"] >= 300, 30, "ticks before the outage")
        broker.stop()
        pause(10, "the broker stays down 10 s")
        broker.start()
        producing.join(180)
        assert publisher.counts == {"published": 3000}  # no "failed": retried until delivered
        publisher.close()
        forecasts = TopicCollector(broker.bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
        messages = forecasts.wait_for(3000, timeout=120)
        forecasts.close()
        assert worker.stop() == 0, worker.text()[-3000:]
    finally:
        broker.stop()

    memory = MemorySink()
    run_backtest(records, CoreConfig(), sinks=[memory])
    assert identity_sorted(forecasts_of(messages)) == identity_sorted(memory.forecasts)


def test_clickhouse_failing_for_a_while_holds_the_stream_back_and_loses_nothing(
    clickhouse: ClickHouseStore,
) -> None:
    """A transient refusal: ClickHouse's own back-pressure (too many parts while merges lag)."""
    clickhouse.insert("forecasts", [make_forecast("X", 1_600_000_000_000)])  # one part
    clickhouse.client.command("SYSTEM STOP MERGES forecasts")
    clickhouse.client.command("ALTER TABLE forecasts MODIFY SETTING parts_to_throw_insert = 1")
    records = list(synthetic_ticks(6000, 3, seed=44))
    back_at = 0.0

    def come_back() -> None:
        nonlocal back_at
        pause(4, "ClickHouse refuses inserts for 4 s")
        clickhouse.client.command(
            "ALTER TABLE forecasts MODIFY SETTING parts_to_throw_insert = 3000"
        )
        clickhouse.client.command("SYSTEM START MERGES forecasts")
        back_at = time.monotonic()

    restorer = threading.Thread(target=come_back)
    restorer.start()
    replay(records, ClickHouseSink(clickhouse), flush_interval_s=0.05, flush_max_rows=500)
    done_at = time.monotonic()
    restorer.join()

    assert back_at > 0
    assert done_at > back_at  # the stream could not finish before ClickHouse was back
    rows = clickhouse.query("SELECT count() AS n FROM forecasts FINAL WHERE symbol != 'X'")
    memory = MemorySink()
    run_backtest(records, CoreConfig(), sinks=[memory])
    served = [f for f in memory.forecasts if f.model == SERVED]
    assert rows[0]["n"] == len(served) == 6000  # every served forecast, once


def test_a_permanent_refusal_stops_the_run_at_once_naming_the_table(
    clickhouse: ClickHouseStore, caplog: pytest.LogCaptureFixture
) -> None:
    clickhouse.client.command("DROP TABLE labels")  # as if another version's schema
    with pytest.raises(PermanentWriteError, match="refused rows for table labels"):
        replay(list(synthetic_ticks(3000, 3)), ClickHouseSink(clickhouse), flush_max_rows=500)
    assert logged(caplog.records, "write_retried") == []  # stopped at once: no retry loop


def test_a_worker_whose_output_refuses_a_batch_for_good_stops_without_acknowledging_it(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A refusal that would repeat (here a constraint every forecast breaks) is not retried
    forever: the worker says which table refused what, and exits; nothing was committed, so
    the ticks are processed again once the cause is fixed."""
    from kafka import KafkaAdminClient

    store = ClickHouseStore(f"chdb://{tmp_path / 'olap'}")
    store.setup()
    store.client.command("ALTER TABLE forecasts ADD CONSTRAINT never CHECK price < 0")
    store.close()
    env = worker_env(kafka_bootstrap, tmp_path)
    ensure_topics(
        KafkaAuth(kafka_bootstrap), {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    )
    worker = Worker(env, tmp_path / "worker.log")
    worker.wait_assigned()
    publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], synthetic_ticks(500, 2, seed=3))
    try:
        code = worker.proc.wait(60)
    finally:
        worker.kill() if worker.proc.poll() is None else worker.handle.close()
    assert code == 74, worker.text()[-3000:]
    [refused] = worker.events("write_refused")
    assert "refused rows for table forecasts" in refused["reason"]
    assert worker.events("write_retried") == []  # refused for good: not retried
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        committed = admin.list_group_offsets(env["TICKCAST_APP_ID"])[env["TICKCAST_APP_ID"]]
    finally:
        admin.close()
    ticks = [tp for tp in committed if tp.topic == env["TICKCAST_TICKS_TOPIC"]]
    assert all(committed[tp].offset <= 0 for tp in ticks)


def _pid_one(launcher: subprocess.Popen[bytes]) -> int:
    """The pid (outside) of the process `unshare --fork --pid` runs as PID 1 of its namespace."""
    children = eventually(
        lambda: Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split(),
        10,
        "the process unshare starts",
    )
    return int(children[0])


def test_with_the_broker_down_a_stop_signal_ends_producer_and_worker_within_their_grace(
    tmp_path: Path,
) -> None:
    """The issue's case: `produce --live` ran on 50 s after two SIGTERMs while the broker was
    down, logging about 20 librdkafka errors a second. Both run as PID 1 of a namespace of
    their own, as in a container, where a signal without a handler of its own is ignored."""
    broker = LocalBroker(tmp_path / "kafka")
    broker.start()
    env = worker_env(broker.bootstrap, tmp_path)
    log = (tmp_path / "produce.log").open("wb")
    as_pid_one = ["unshare", "--fork", "--pid", "--mount-proc"]
    producer = subprocess.Popen(
        [*as_pid_one, TICKCAST, "produce", "--live", "--rate", "200", "--symbols", "5"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    bulk_log = (tmp_path / "bulk.log").open("wb")
    bulk = subprocess.Popen(  # a source read as fast as it goes: its queue fills, then waits
        [*as_pid_one, TICKCAST, "produce", "--synthetic", "3000000", "--symbols", "5"],
        env=env,
        stdout=bulk_log,
        stderr=subprocess.STDOUT,
    )
    worker = Worker(env, tmp_path / "worker.log")
    try:
        worker.wait_assigned()
        pause(2, "the producers run before the outage")
        broker.stop()
        pause(8, "the broker stays down: the producers' queues grow, librdkafka retries")
        stopped = time.monotonic()
        os.kill(_pid_one(producer), signal.SIGTERM)
        os.kill(_pid_one(bulk), signal.SIGTERM)
        assert producer.wait(15) == 0  # within its grace: it fails here otherwise
        assert bulk.wait(15) == 0
        producer_s = time.monotonic() - stopped
        stopped = time.monotonic()
        # 74: its last batch was not written (unacked); 75: Faust's clients did not let go;
        # within compose's stop_grace_period for a worker (100 s)
        assert worker.stop(timeout=100) in (0, 74, 75)
        worker_s = time.monotonic() - stopped
    finally:
        for process in (producer, bulk, worker.proc):
            if process.poll() is None:
                process.kill()
        log.close()
        bulk_log.close()
    text = (tmp_path / "produce.log").read_text()
    assert re.search(r"\d+ tick\(s\) not delivered", text), text[-2000:]
    assert '"stopped": true' in text
    assert '"stopped": true' in (tmp_path / "bulk.log").read_text()
    noise = [line for line in text.splitlines() if "librdkafka" in line]
    assert len(noise) <= 10, noise  # once, then now and then: not 20 a second
    assert worker.events("batch_given_up")  # it says what it did not do
    print(f"stopped with the broker down: producer {producer_s:.1f} s, worker {worker_s:.1f} s")
