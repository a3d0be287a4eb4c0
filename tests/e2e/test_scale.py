"""2,000 symbols through a worker with the registry on, as a user with a universe of stocks
would run it: every symbol gets a version (a queue of 256 once dropped 1,744 of them), `tickcast
models list` shows all of them (the registry's search stopped at its first page of 100), a
restarted worker restores every one from the changelog, and a fresh worker warm-starts every
symbol that has a champion."""

from __future__ import annotations

import re
import time
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from tests.conftest import free_port
from tests.e2e.test_journeys import fresh, run
from tests.eventually import eventually
from tests.integration.kafka_support import TICKCAST, TopicCollector, Worker, topics_env
from tickcast.producers import synthetic_ticks
from tickcast.stores.registry import Registry

pytestmark = pytest.mark.e2e
SYMBOLS = 2000
TICKS_EACH = 11  # ten labels each: one checkpoint at ten, nothing learned after it
CHAMPIONS = 100  # promoted by an operator: what a fresh worker starts warm


def written(port: int) -> float:
    """The worker's count of checkpoints its registry process wrote (its Prometheus series)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = re.search(r'tickcast_registry_checkpoints_total\{outcome="written"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


def produce(bootstrap: str, topic: str, ticks: list[dict[str, object]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for tick in ticks:
        producer.produce(topic, orjson.dumps(tick), str(tick["symbol"]))
        producer.poll(0)
    assert producer.flush(60) == 0


def test_two_thousand_symbols_are_versioned_listed_restored_and_started_warm(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    home = fresh(tmp_path)
    metrics = free_port()
    env = topics_env(
        kafka_bootstrap,
        TICKCAST_CHECKPOINT_EVERY_LABELS=str(TICKS_EACH - 1),
        TICKCAST_CHECKPOINT_MIN_INTERVAL_S="0",
        TICKCAST_WORKER_METRICS_PORT=str(metrics),
        TICKCAST_FLUSH_MAX_ROWS="5000",
    )
    ticks = list(synthetic_ticks(SYMBOLS * TICKS_EACH, SYMBOLS, seed=31))
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    worker = Worker(env, home / "worker.log", cwd=home)
    try:
        worker.wait_assigned()
        produce(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], ticks)
        assert forecasts.distinct_after(len(ticks), 300) == len(ticks)
        eventually(
            lambda: written(metrics) >= SYMBOLS,
            600,
            lambda: f"a version of every symbol ({written(metrics)}):\n{worker.text()[-3000:]}",
            every=1.0,
        )
        assert written(metrics) == SYMBOLS
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]

    listed = run(TICKCAST, "models", "list", cwd=home, env=env | {"COLUMNS": "200"}).stdout
    rows = re.findall(r"^\W*(SYN\d+)\W+(\d+)\W", listed, re.M)
    assert len(rows) == SYMBOLS
    assert {versions for _, versions in rows} == {"1"}

    # A restarted worker: every symbol from the changelog, none fresh, none from the registry.
    again = Worker(env | {"TICKCAST_MLFLOW_URI": ""}, home / "again.log", cwd=home)
    later = [tick | {"ts": tick["ts"] + 3_600_000} for tick in ticks[-SYMBOLS:]]
    try:
        started = time.monotonic()
        again.wait_assigned()
        produce(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], later)
        assert forecasts.distinct_after(len(ticks) + SYMBOLS, 300) == len(ticks) + SYMBOLS
        recovery_s = time.monotonic() - started
    finally:
        assert again.stop() == 0, again.text()[-3000:]
        forecasts.close()
    recovered = {event["symbol"] for event in again.events("state_recovered")}
    assert len(recovered) == SYMBOLS
    assert again.events("state_refused") == []
    print(f"2,000 symbols recovered and forecast again in {recovery_s:.1f} s")

    # An operator promotes some; a fresh worker (another app: no changelog) starts them warm.
    registry = Registry(f"sqlite:///{home}/data/mlflow.db")
    chosen = set(sorted({str(tick["symbol"]) for tick in ticks})[:: SYMBOLS // CHAMPIONS])
    for symbol in chosen:
        registry.promote(symbol, 1)
    fresh_env = env | {
        "TICKCAST_APP_ID": env["TICKCAST_APP_ID"] + "-fresh",
        "TICKCAST_CHECKPOINT_EVERY_LABELS": "1000000",
        "TICKCAST_WORKER_METRICS_PORT": "0",
    }
    newcomer = Worker(fresh_env, home / "fresh.log", cwd=home)
    try:
        newcomer.wait_assigned()

        def warm_starts() -> set[str]:
            return {event["symbol"] for event in newcomer.events("warm_started")}

        eventually(lambda: len(warm_starts()) >= len(chosen), 120, "a warm start of each")
        warm = warm_starts()
    finally:
        newcomer.kill()  # its checkpoints at a stop are not this journey's
    assert warm == chosen
