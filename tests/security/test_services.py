"""Every service authenticates, each role gets only what it needs, and no secret reaches a log
line or an answer: the stack's secure Kafka broker (SASL/SCRAM with ACLs), Redis with the stack's
own ACL users (docker-compose.yml's command, run as it is), the API with a token, the API's
ClickHouse session, and the stores unreachable with passwords set."""

from __future__ import annotations

import re
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from fastapi.testclient import TestClient

from tests.conftest import REPO, RedisServer, SecureKafka, free_port, wait_for_port
from tests.eventually import eventually
from tests.factories import make_forecast
from tests.integration.kafka_support import TICKCAST
from tickcast.api import Limits, Services, create_app
from tickcast.stores import ClickHouseStore, InMemoryLatestStore, RedisLatestStore

pytestmark = pytest.mark.integration
SECRET = "s3cret-pa55word-nobody-may-see"


# Kafka: SASL/SCRAM and ACLs, on the broker configuration the stack runs.


def test_the_broker_refuses_a_client_without_credentials_or_with_a_wrong_password(
    secure_kafka: SecureKafka,
) -> None:
    plain = AdminClient({"bootstrap.servers": secure_kafka.bootstrap})
    with pytest.raises(KafkaException):
        plain.list_topics(timeout=5)
    errors: list[Any] = []
    wrong = secure_kafka.auth("producer", "not-the-password").librdkafka()
    producer = Producer({**wrong, "error_cb": errors.append, "message.timeout.ms": 3000})
    producer.produce("ticks", b"{}")
    producer.flush(5)
    assert any("Authentication failed" in error.str() for error in errors), errors
    assert secure_kafka.passwords["producer"] not in repr(producer)


def delivered(secure_kafka: SecureKafka, user: str, topic: str) -> str | None:
    """The error of one message ``user`` sends to ``topic``, or None when it was taken."""
    outcome: list[Any] = []
    producer = Producer(secure_kafka.auth(user).librdkafka())
    producer.produce(topic, b"{}", on_delivery=lambda error, message: outcome.append(error))
    producer.flush(15)
    assert outcome, "no delivery report"
    return None if outcome[0] is None else outcome[0].name()


def test_each_role_may_write_only_where_it_must(secure_kafka: SecureKafka) -> None:
    assert delivered(secure_kafka, "producer", "ticks") is None
    assert delivered(secure_kafka, "producer", "forecasts") == "TOPIC_AUTHORIZATION_FAILED"
    assert delivered(secure_kafka, "worker", "forecasts") is None
    assert delivered(secure_kafka, "worker", "ticks") == "TOPIC_AUTHORIZATION_FAILED"
    assert delivered(secure_kafka, "reader", "forecasts") == "TOPIC_AUTHORIZATION_FAILED"


def test_readers_read_forecasts_only_with_a_group_of_their_own(secure_kafka: SecureKafka) -> None:
    def first(group: str, topic: str) -> Any:
        consumer = Consumer(
            {
                **secure_kafka.auth("reader").librdkafka(),
                "group.id": group,
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([topic])
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is not None:
                    return message.error().name() if message.error() else message.value()
            return None
        finally:
            consumer.close()

    assert first("reader-tests", "forecasts") == b"{}"  # the worker's message above
    assert first("tickcast", "forecasts") == "GROUP_AUTHORIZATION_FAILED"  # the workers' group
    assert first("reader-tests-2", "ticks") == "TOPIC_AUTHORIZATION_FAILED"


# Redis: the stack's ACL users, from docker-compose.yml's own command.


@pytest.fixture(scope="module")
def stack_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """redis-server started by docker-compose.yml's own command (its shell line, with the
    passwords in the environment as compose gives them, the ACL file in a folder of the test's
    and a loopback port); its URL and the users' passwords."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    line = compose["services"]["redis"]["command"][-1].replace("$$", "$")
    passwords = {"writer": f"w-{SECRET}", "reader": f"r-{SECRET}"}
    server = RedisServer()
    acl = tmp_path_factory.mktemp("redis") / "users.acl"
    line = line.replace("/data/users.acl", str(acl)).replace(
        "exec redis-server", f"exec {server.binary} --port {server.port} --bind 127.0.0.1"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "REDIS_WRITER_PASSWORD": passwords["writer"],
        "REDIS_READER_PASSWORD": passwords["reader"],
    }
    server.proc = subprocess.Popen(["sh", "-c", line], env=env, stdout=subprocess.DEVNULL)
    wait_for_port(server.port)
    try:
        assert stat.S_IMODE(acl.stat().st_mode) == 0o600
        arguments = Path(f"/proc/{server.proc.pid}/cmdline").read_bytes()
        assert SECRET.encode() not in arguments  # not in the process listing
        yield server.url, passwords
    finally:
        server.stop()


def test_redis_lets_the_writer_write_the_reader_read_and_nobody_else_in(
    stack_redis: tuple[str, dict[str, str]],
) -> None:
    url, passwords = stack_redis
    writer = RedisLatestStore(url, username="writer", password=passwords["writer"])
    reader = RedisLatestStore(url, username="reader", password=passwords["reader"])
    forecast = make_forecast("AAPL", 5)
    heard: list[Any] = []
    reader.subscribe(heard.append)  # returns once the subscription is live
    writer.put_many([forecast])
    assert reader.get("AAPL") == forecast
    assert reader.symbols() == ["AAPL"]
    eventually(lambda: heard, 5, "the published forecast")
    assert heard == [forecast]
    with pytest.raises(redis.exceptions.NoPermissionError):
        reader.put_many([make_forecast("AAPL", 6)])
    with pytest.raises(redis.exceptions.NoPermissionError):
        writer.client.flushall()
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(url).ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        RedisLatestStore(url, username="writer", password="wrong").client.ping()
    reader.close()


# The API: a token, and nothing internal in its answers.


def test_with_a_token_every_route_but_health_and_the_pages_wants_it() -> None:
    latest = InMemoryLatestStore()
    latest.put_many([make_forecast("AAPL", 5)])
    app = create_app(Services(latest, None, limits=Limits(token="t0ken-of-the-api")))
    with TestClient(app) as client:
        for path in ("/forecasts/AAPL", "/symbols", "/forecasts/latest", "/ready", "/metrics"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"].startswith("Bearer")
            wrong = client.get(path, headers={"Authorization": "Bearer guess"})
            assert wrong.status_code == 401, path
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 200  # the application asks for the token
        assert client.get("/static/index.html").status_code == 200
        allowed = client.get(
            "/forecasts/AAPL", headers={"Authorization": "Bearer t0ken-of-the-api"}
        )
        assert allowed.status_code == 200
        assert allowed.json()["symbol"] == "AAPL"


def test_the_apis_clickhouse_session_cannot_write_or_lift_its_limits(
    clickhouse: ClickHouseStore,
) -> None:
    for statement in (
        "INSERT INTO ticks (symbol, ts, seq, price) VALUES ('X', 0, 0, 1)",
        "DROP TABLE ticks",
        "ALTER TABLE ticks DELETE WHERE 1",
        "SELECT 1; DROP TABLE ticks",  # chdb runs every statement of a query
        "SELECT 1 SETTINGS readonly = 0",
        "SET readonly = 0",
        "SELECT count() FROM numbers(10) SETTINGS max_result_rows = 0, readonly = 0",
    ):
        with pytest.raises(Exception, match=r"READONLY|readonly mode"):
            clickhouse.query(statement)
    with pytest.raises(Exception, match=r"TOO_MANY_ROWS"):
        clickhouse.query("SELECT number FROM numbers(2000000)")
    assert clickhouse.query("SELECT count() AS n FROM ticks") == [{"n": 0}]  # still there
    clickhouse.insert("ticks", [{"symbol": "X", "ts": 1_700_000_000_000, "seq": 0, "price": 1.0}])
    assert clickhouse.query("SELECT count() AS n FROM ticks") == [{"n": 1}]  # the writer writes


def test_with_the_stores_unreachable_no_password_reaches_an_answer_or_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = free_port()
    history = ClickHouseStore(
        f"http://127.0.0.1:{closed}", username="reader", password=SECRET, read_only=True
    )
    latest = RedisLatestStore(f"redis://127.0.0.1:{closed}/0", username="reader", password=SECRET)
    with TestClient(create_app(Services(latest, history))) as client:
        answers = [
            client.get(path, headers={"X-Request-ID": "req-42"})
            for path in ("/forecasts/AAPL/history", "/symbols/AAPL/quality", "/forecasts/AAPL")
        ]
        ready = client.get("/ready")
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert "request req-42" in answer.json()["detail"]
        assert "127.0.0.1" not in answer.text  # no address, no driver's message
    assert ready.json()["checks"] == {"latest": "unreachable", "clickhouse": "unreachable"}
    lines = [record.getMessage() for record in caplog.records]
    assert any("request req-42" in line for line in lines)
    text = "\n".join(lines) + "".join(a.text for a in answers) + ready.text
    assert SECRET not in text


def test_the_api_command_shows_users_not_passwords_with_its_stores_unreachable(
    tmp_path: Path,
) -> None:
    closed, port = free_port(), free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "TICKCAST_CLICKHOUSE_URL": f"http://127.0.0.1:{closed}",
        "TICKCAST_CLICKHOUSE_USERNAME": "reader",
        "TICKCAST_CLICKHOUSE_PASSWORD": SECRET,
        "TICKCAST_REDIS_URL": f"redis://127.0.0.1:{closed}/0",
        "TICKCAST_REDIS_USERNAME": "reader",
        "TICKCAST_REDIS_PASSWORD": SECRET,
        "TICKCAST_MLFLOW_URI": f"postgresql://reader:{SECRET}@127.0.0.1:{closed}/mlflow",
        "TICKCAST_API_PORT": str(port),
    }
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen([TICKCAST, "api"], env=env, cwd=tmp_path, stdout=out, stderr=out)
        try:
            wait_for_port(port, timeout=30)
            answer = httpx.get(f"http://127.0.0.1:{port}/forecasts/AAPL/history", timeout=30)
            assert answer.status_code == 503
            assert SECRET not in answer.text
        finally:
            api.send_signal(signal.SIGTERM)
            api.wait(30)
    text = log.read_text()
    assert re.search(r"tickcast api: clickhouse=reader@http://127.0.0.1:\d+", text), text
    assert "mlflow=reader@postgresql://reader:***@" not in text or SECRET not in text
    assert SECRET not in text, text
    with pytest.raises(subprocess.CalledProcessError) as refused:  # the address with a password
        subprocess.run(
            [TICKCAST, "api"],
            env={**env, "TICKCAST_CLICKHOUSE_URL": f"http://reader:{SECRET}@127.0.0.1:1"},
            capture_output=True,
            text=True,
            check=True,
        )
    assert "TICKCAST_CLICKHOUSE_PASSWORD" in refused.value.stderr
    assert SECRET not in refused.value.stderr + refused.value.stdout
