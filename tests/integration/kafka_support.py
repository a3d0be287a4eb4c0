"""Helpers for the tests that run `tickcast worker` against a real broker."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from tests.conftest import STATE_KEY
from tests.eventually import eventually
from tests.isolated import events, isolated_env
from tickcast.config import KafkaAuth
from tickcast.messages import dumps, forecasts_from_message
from tickcast.records import Forecast

TICKCAST = str(Path(sys.executable).with_name("tickcast"))


def topics_env(bootstrap: str, **extra: str) -> dict[str, str]:
    """A user's environment (no TICKCAST_* of this process), with topics and a consumer group
    of its own on the test broker; every store at its default, under the working directory."""
    return isolated_env(bootstrap, **extra)


def worker_env(bootstrap: str, tmp: Path, redis_url: str = "", **extra: str) -> dict[str, str]:
    """Environment of an isolated pipeline: its own topics, consumer group and stores in ``tmp``,
    small batches, no registry (the registry's own worker test turns it on), the tests' state
    key (what the test process writes, the worker reads)."""
    settings = {
        "TICKCAST_STATE_KEY": STATE_KEY,
        "TICKCAST_PARTITIONS": "4",
        "TICKCAST_REDIS_URL": redis_url,
        "TICKCAST_FLUSH_INTERVAL_S": "0.2",
        "TICKCAST_FLUSH_MAX_ROWS": "500",
        "TICKCAST_MLFLOW_URI": "",
    }
    return isolated_env(bootstrap, tmp, **{**settings, **extra})


class Worker:
    """A `tickcast worker` subprocess with its log in a file."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        cwd: Path | None = None,
        command: str = TICKCAST,
        args: tuple[str, ...] = (),
    ) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            [command, "worker", *args],
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """What the worker did, as its events (its log is JSON lines)."""
        return events(self.text(), name)

    def wait_assigned(self, timeout: float = 60) -> None:
        eventually(
            lambda: self.events("partitions_assigned") or self.proc.poll() is not None,
            timeout,
            lambda: f"the worker's partitions:\n{self.text()[-3000:]}",
        )
        assert self.proc.poll() is None, f"the worker ended:\n{self.text()[-3000:]}"

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM: the graceful path (flush, write state, ack)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.handle.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(30)
        self.handle.close()


def publish(bootstrap: str, topic: str, records: Iterable[Any]) -> int:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    count = 0
    for record in records:
        value = record if isinstance(record, bytes) else dumps(record)
        key = record.get("symbol", "").encode() if isinstance(record, dict) else None
        producer.send(topic, key=key, value=value)
        count += 1
    producer.flush()
    producer.close()
    return count


class TopicCollector:
    """Consumes a topic from the start in a background thread, keeping every message
    (``auth``: logging in as a user of a broker that authenticates)."""

    def __init__(self, bootstrap: str, topic: str, auth: KafkaAuth | None = None) -> None:
        self.messages: list[Any] = []
        self._behind: int | None = None  # records between this reader and the topic's end
        self._rounds = 0  # reads of the topic's end so far
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(
            topic,
            **(auth or KafkaAuth(bootstrap)).aiokafka(),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=200,
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.messages.extend(self._consumer)
            assigned = list(self._consumer.assignment())
            if assigned:  # where this reader is, against the ends the topic has now
                ends = self._consumer.end_offsets(assigned)
                self._behind = sum(ends[tp] - self._consumer.position(tp) for tp in assigned)
                self._rounds += 1

    @property
    def distinct(self) -> int:
        return len({(m.key, m.value) for m in list(self.messages)})

    def wait_for(self, n: int, timeout: float = 90) -> list[Any]:
        """Wait until ``n`` distinct messages arrived; return everything seen so far."""
        eventually(
            lambda: self.distinct >= n, timeout, lambda: f"{n} messages ({self.distinct} came)"
        )
        return list(self.messages)

    def wait_caught_up(self, timeout: float = 30) -> list[Any]:
        """Wait until this reader has read everything the topic held when asked (the end
        offsets read after this call); return everything seen."""
        start = self._rounds
        eventually(
            lambda: self._rounds > start + 1 and self._behind == 0,
            timeout,
            lambda: f"the topic's end ({self._behind} records behind)",
        )
        return list(self.messages)

    def distinct_after(self, n: int, timeout: float = 90) -> int:
        """How many distinct messages the topic holds once ``n`` came (more: a repeat of a
        forecast under another identity)."""
        self.wait_for(n, timeout)
        self.wait_caught_up()
        return self.distinct

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def forecasts_of(messages: list[Any]) -> list[Forecast]:
    return [f for m in messages for f in forecasts_from_message(m.value)]


def identity_sorted(forecasts: Iterable[Forecast]) -> list[Forecast]:
    unique = {(f.symbol, f.ts, f.model): f for f in forecasts}
    return [unique[k] for k in sorted(unique)]


def assert_same_forecasts(actual: list[Forecast], expected: list[Forecast]) -> None:
    """Equality of long forecast lists, reported as counts and the first difference (pytest's
    own diff of lists this long takes minutes)."""
    have = {(f.symbol, f.ts, f.model): f for f in actual}
    want = {(f.symbol, f.ts, f.model): f for f in expected}
    missing = sorted(want.keys() - have.keys())
    extra = sorted(have.keys() - want.keys())
    different = [k for k in sorted(want.keys() & have.keys()) if have[k] != want[k]]
    problems = len(missing) + len(extra) + len(different)
    assert problems == 0, (
        f"{len(missing)} missing (first {missing[:1]}), {len(extra)} unexpected "
        f"(first {extra[:1]}), {len(different)} different (first "
        f"{[(have[k], want[k]) for k in different[:1]]}) of {len(want)} expected"
    )
