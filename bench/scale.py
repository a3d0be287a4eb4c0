"""The bounds at the sizes users reach, as JSON lines:

- registry versions a symbol gets in a day of 10 ticks/s, with the default cadence (5,000
  labels, at least an hour of event time apart) and without the hour (what it was): the core's
  own checkpoint stops, counted through the pipeline with a registry that only counts;
- a worker's memory per 1,000 symbols (its RSS once it forecast every tick of 100 and of 2,000
  symbols, on topics of its own, registry off);
- how long a restarted worker takes to restore 2,000 symbols from its changelog and forecast a
  tick of each.

    .venv/bin/python bench/scale.py   # a broker at TICKCAST_KAFKA_BOOTSTRAP (bench/run starts one)
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from common import TICKCAST, isolated_env
from confluent_kafka import Consumer, Producer

from tickcast.bootstrap import checkpoint_policy
from tickcast.config import Settings
from tickcast.online_model import CoreConfig
from tickcast.online_model.checkpoints import CheckpointPolicy
from tickcast.producers import synthetic_ticks
from tickcast.stream_processors import Pipeline

DAY_S = 86_400
RATE = 10  # ticks a second
TICKS_EACH = 20


def versions_a_day(policy: CheckpointPolicy) -> int:
    """Checkpoints of one symbol over a day at RATE ticks a second."""
    steps = Pipeline(CoreConfig(), cadence=policy.cadence)
    ticks = synthetic_ticks(DAY_S * RATE, 1, seed=5, step_ms=1000 // RATE)
    batch: list[Any] = []
    taken = 0
    for tick in ticks:
        batch.append(tick)
        if len(batch) == 10_000:
            steps.step([parse(t) for t in batch])
            taken += len(steps.take_checkpoints())
            batch = []
    steps.step([parse(t) for t in batch])
    return taken + len(steps.take_checkpoints())


def parse(record: dict[str, Any]) -> Any:
    from tickcast.records import parse_tick

    return parse_tick(record)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def forecasts(env: dict[str, str], expected: int, seen: set[bytes], timeout: float) -> None:
    """Read the forecasts topic until ``expected`` distinct messages were seen."""
    consumer = Consumer(
        {
            "bootstrap.servers": env["TICKCAST_KAFKA_BOOTSTRAP"],
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([env["TICKCAST_FORECASTS_TOPIC"]])
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                seen.add(message.value())
    finally:
        consumer.close()
    if len(seen) < expected:
        raise RuntimeError(f"{len(seen)} of {expected} forecasts")


def produce(env: dict[str, str], ticks: list[dict[str, Any]]) -> None:
    producer = Producer({"bootstrap.servers": env["TICKCAST_KAFKA_BOOTSTRAP"], "linger.ms": 5})
    for tick in ticks:
        producer.produce(env["TICKCAST_TICKS_TOPIC"], orjson.dumps(tick), str(tick["symbol"]))
        producer.poll(0)
    producer.flush(60)


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [TICKCAST, "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while "assigned partitions" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.2)
    return worker


def worker_memory(symbols: int, tmp: Path) -> tuple[float, dict[str, str], list[Any]]:
    """The worker's RSS (MB) once it forecast TICKS_EACH ticks of each of ``symbols``."""
    tmp.mkdir(parents=True)
    env = isolated_env(f"scale{symbols}", tmp) | {"TICKCAST_MLFLOW_URI": ""}
    ticks = list(synthetic_ticks(symbols * TICKS_EACH, symbols, seed=3))
    worker = start(env, tmp / "worker.log")
    try:
        produce(env, ticks)
        forecasts(env, len(ticks), set(), 300)
        time.sleep(2)  # a flush or two: the states written, the batch let go
        return rss_mb(worker.pid), env, ticks
    finally:
        worker.terminate()
        worker.wait(120)


def main() -> None:
    settings = Settings()
    cadence = checkpoint_policy(settings)
    for name, policy in (
        ("default", cadence),
        ("without_min_interval", CheckpointPolicy(cadence.every_labels, cadence.every_s, 0)),
    ):
        print(
            json.dumps(
                {
                    "figure": "registry_versions_per_symbol_per_day",
                    "cadence": name,
                    "ticks_per_s": RATE,
                    "value": versions_a_day(policy),
                    "every_labels": policy.every_labels,
                    "min_interval_s": policy.min_gap_s,
                }
            ),
            flush=True,
        )
    with tempfile.TemporaryDirectory(prefix="tickcast-scale-") as folder:
        small, _, _ = worker_memory(100, Path(folder) / "small")
        large, env, ticks = worker_memory(2000, Path(folder) / "large")
        per_thousand = (large - small) / 1.9
        print(
            json.dumps(
                {
                    "figure": "worker_memory_per_1000_symbols_mb",
                    "value": round(per_thousand, 1),
                    "rss_mb_100_symbols": round(small, 1),
                    "rss_mb_2000_symbols": round(large, 1),
                    "ticks_per_symbol": TICKS_EACH,
                }
            ),
            flush=True,
        )
        started = time.monotonic()
        worker = start(env, Path(folder) / "large" / "again.log")
        try:
            later = [t | {"ts": t["ts"] + 3_600_000} for t in ticks[-2000:]]
            produce(env, later)
            forecasts(env, len(ticks) + len(later), set(), 300)
            recovery = time.monotonic() - started
        finally:
            worker.terminate()
            worker.wait(120)
        print(
            json.dumps(
                {
                    "figure": "recovery_of_2000_symbols_s",
                    "value": round(recovery, 1),
                    "what": "a restarted worker: start, changelog read, a tick of each forecast",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
