"""Shared fixtures: real services found in order (environment, testcontainers, local launcher).

A service that cannot be found fails the test with what to install; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.eventually import eventually
from tickcast.codecs import StateCodec
from tickcast.config import KafkaAuth
from tickcast.online_model import CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.records import Tick, parse_tick
from tickcast.stores import ClickHouseStore

# The key this test process signs states with: bootstrap's codec (read from the environment)
# and CODEC agree, so a test can read what a runtime wrote. Commands the tests start get their
# own environment (kafka_support.topics_env) and the key file of their directory.
STATE_KEY = "tickcast's tests sign states with this key"
os.environ.setdefault("TICKCAST_STATE_KEY", STATE_KEY)
CODEC = StateCodec(os.environ["TICKCAST_STATE_KEY"].encode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def docker_engine_runs() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    eventually(listening, timeout, f"something listening on 127.0.0.1:{port}")


class RedisServer:
    """A local redis-server on a loopback port of its own; it can be stopped and started
    again on the same port (the fault tests do)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail(
                "no Redis: set TICKCAST_TEST_REDIS_URL, run a Docker engine, or install "
                "redis-server (apt-get install redis-server; `make test` does this)"
            )
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


REPO = Path(__file__).resolve().parents[1]


class LocalBroker:
    """Apache Kafka from Maven Central's jars (infra/kafka/broker) on free loopback ports; with
    ``admin_password``, the stack's secure broker (SASL/SCRAM, ACLs)."""

    def __init__(self, run_dir: Path, admin_password: str = "") -> None:
        if not (shutil.which("java") and shutil.which("mvn")):
            pytest.fail(
                "no Kafka: set TICKCAST_TEST_KAFKA_BOOTSTRAP, run a Docker engine, or install "
                "Java 17 and Maven for infra/kafka/broker (apt-get install openjdk-17-jre-headless "
                "maven; `make test` does this)"
            )
        self.port = free_port()
        self.env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_RUN_DIR": str(run_dir),
            "KAFKA_ADMIN_PASSWORD": admin_password,
        }
        self.script = str(REPO / "infra" / "kafka" / "broker")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        subprocess.run([self.script, "start"], env=self.env, check=True, timeout=600)

    def stop(self) -> None:
        subprocess.run([self.script, "stop"], env=self.env, check=False, timeout=120)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: $TICKCAST_TEST_REDIS_URL, else testcontainers, else a local redis-server."""
    if url := os.environ.get("TICKCAST_TEST_REDIS_URL"):
        yield url
        return
    if docker_engine_runs():
        from testcontainers.redis import RedisContainer

        with RedisContainer() as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        return
    server = RedisServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka broker: $TICKCAST_TEST_KAFKA_BOOTSTRAP, else testcontainers' Kafka, else
    infra/kafka/broker (Apache Kafka's jars from Maven Central) on a free loopback port."""
    if bootstrap := os.environ.get("TICKCAST_TEST_KAFKA_BOOTSTRAP"):
        yield bootstrap
        return
    if docker_engine_runs():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    broker = LocalBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@dataclass(frozen=True)
class SecureKafka:
    """A broker that authenticates (SASL/SCRAM) and authorizes (ACLs), set up by
    ``tickcast setup kafka``'s code: its admin and a password per role."""

    bootstrap: str
    admin_password: str
    passwords: dict[str, str]

    def auth(self, user: str, password: str | None = None) -> KafkaAuth:
        """How ``user`` logs in (the admin, or a role; ``password``: another one)."""
        known = self.admin_password if user == "admin" else self.passwords[user]
        return KafkaAuth(self.bootstrap, user, SecretStr(password or known))

    def env(self, role: str) -> dict[str, str]:
        """The settings of a process logging in as ``role``."""
        return {
            "TICKCAST_KAFKA_BOOTSTRAP": self.bootstrap,
            "TICKCAST_KAFKA_USERNAME": role,
            "TICKCAST_KAFKA_PASSWORD": self.passwords[role],
        }

    def grant(self, env: dict[str, str]) -> None:
        """Every role's ACLs (and the topics) for the topics and app id of ``env``, a test's
        isolated environment (tests.integration.kafka_support.topics_env)."""
        from tickcast.config import Settings
        from tickcast.kafka_roles import set_up

        names = {k.removeprefix("TICKCAST_").lower(): v for k, v in env.items()}
        wanted = ("ticks_topic", "forecasts_topic", "dlq_topic", "app_id", "partitions")
        admin = self.auth("admin")
        set_up(
            Settings(
                **{name: names[name] for name in wanted if name in names},
                kafka_bootstrap=self.bootstrap,
                kafka_username="admin",
                kafka_password=admin.password,
            ),
            {},
        )


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """The stack's secure broker: $TICKCAST_TEST_SECURE_KAFKA_BOOTSTRAP with its admin's password
    in $TICKCAST_TEST_SECURE_KAFKA_ADMIN_PASSWORD, else infra/kafka/broker with an admin password
    (testcontainers has no such broker: the local launcher is the stack's own configuration)."""
    from tickcast.config import Settings
    from tickcast.kafka_roles import ROLES, set_up

    passwords = {role: f"{role}-{os.urandom(8).hex()}" for role in ROLES}
    if bootstrap := os.environ.get("TICKCAST_TEST_SECURE_KAFKA_BOOTSTRAP"):
        admin = os.environ["TICKCAST_TEST_SECURE_KAFKA_ADMIN_PASSWORD"]
        broker = None
    else:
        admin = f"admin-{os.urandom(8).hex()}"
        broker = LocalBroker(tmp_path_factory.mktemp("secure-kafka"), admin_password=admin)
        broker.start()
        bootstrap = broker.bootstrap
    secure = SecureKafka(bootstrap, admin, passwords)
    settings = Settings(
        kafka_bootstrap=bootstrap, kafka_username="admin", kafka_password=SecretStr(admin)
    )
    set_up(settings, passwords)
    try:
        yield secure
    finally:
        if broker is not None:
            broker.stop()


@pytest.fixture
def redis_clean(redis_url: str) -> str:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


@pytest.fixture
def chdb_url(tmp_path: Path) -> str:
    """A fresh ClickHouse engine directory for this test (chdb, in-process)."""
    return f"chdb://{tmp_path / 'olap'}"


@pytest.fixture
def clickhouse(chdb_url: str) -> Iterator[ClickHouseStore]:
    store = ClickHouseStore(chdb_url)
    store.setup()
    yield store
    store.close()


def make_ticks(n: int, symbols: int = 3, **kwargs: Any) -> list[Tick]:
    """Valid ticks from the seeded synthetic source."""
    return [parse_tick(r) for r in synthetic_ticks(n, symbols, **kwargs)]


@pytest.fixture
def config() -> CoreConfig:
    return CoreConfig(min_outcomes=30, metrics_every=50)
