"""Prometheus metrics of a running worker (real broker) and of the API, moving as ticks flow."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port
from tests.eventually import eventually
from tests.integration.kafka_support import TopicCollector, Worker, worker_env
from tickcast.api import Services, create_app
from tickcast.config import KafkaAuth
from tickcast.producers import synthetic_ticks
from tickcast.producers.kafka_publisher import TickPublisher, ensure_topics
from tickcast.stores import RedisLatestStore

pytestmark = pytest.mark.integration


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    page: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return samples(response.read().decode())


def lags(page: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> list[float]:
    return [v for (name, _), v in page.items() if name == "tickcast_consumer_lag"]


def skipped_ticks(page: dict[Any, float]) -> float:
    return sum(value(page, "tickcast_ticks_total", status=s) for s in ("duplicate", "late"))


def scrape_when(port: int, ticks: int, timeout: float = 10, skipped: int = 0) -> dict[Any, float]:
    """A batch's forecasts are sent before its flush has counted it and set the lag gauge:
    scrape until the flush of the ``ticks``-th tick (and of ``skipped`` repeats) is done."""

    def flushed() -> dict[Any, float] | None:
        page = scrape(port)
        done = (
            value(page, "tickcast_ticks_total", status="ok") >= ticks
            and value(page, "tickcast_forecasts_total") >= ticks  # counted once it is written
            and skipped_ticks(page) >= skipped
            and not any(lags(page))
        )
        return page if done else None

    found: dict[Any, float] = eventually(flushed, timeout, f"the flush of tick {ticks}")
    return found


def test_worker_metrics_appear_and_move_as_ticks_flow(
    kafka_bootstrap: str, redis_clean: str, tmp_path: Path
) -> None:
    port = free_port()
    env = worker_env(
        kafka_bootstrap, tmp_path, redis_url=redis_clean, TICKCAST_WORKER_METRICS_PORT=str(port)
    )
    topics = {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    ensure_topics(KafkaAuth(kafka_bootstrap), topics)
    records = list(synthetic_ticks(1200, 3, seed=31))
    worker = Worker(env, tmp_path / "worker.log")
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    try:
        worker.wait_assigned()
        publisher = TickPublisher(
            KafkaAuth(kafka_bootstrap), env["TICKCAST_TICKS_TOPIC"], env["TICKCAST_DLQ_TOPIC"]
        )
        publisher.publish_all([*records[:600], {"symbol": "SYN000", "ts": 1, "price": -1}])
        forecasts.wait_for(600)
        publisher.publish_all(records[:50])  # delivered again: skipped, no forecast
        first = scrape_when(port, 600, skipped=50)
        publisher.publish_all(records[600:])
        forecasts.wait_for(1200)
        second = scrape_when(port, 1200)
        publisher.close()
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()

    [started] = worker.events("started")
    assert started["metrics"] == f"http://127.0.0.1:{port}/metrics"
    assert value(first, "tickcast_ticks_total", status="ok") == 600
    assert value(second, "tickcast_ticks_total", status="ok") == 1200
    assert value(second, "tickcast_forecasts_total") == 1200
    for histogram in ("tickcast_processing_latency_seconds", "tickcast_end_to_end_latency_seconds"):
        assert 0 < value(first, f"{histogram}_count") < value(second, f"{histogram}_count")
    # only ticks that were forecast: the 50 duplicates do not count as seen by readers
    assert value(first, "tickcast_end_to_end_latency_seconds_count") == 600
    assert value(second, "tickcast_processing_latency_seconds_count") == 1200
    for sink in ("kafka", "clickhouse", "latest"):
        assert value(second, "tickcast_sink_batch_rows_count", sink=sink) > 0
    assert 1 <= len(lags(second)) <= 3  # a gauge per partition that carried the 3 symbols' ticks
    assert all(lag == 0 for lag in lags(second))  # caught up
    for metric in ("mae", "coverage", "hit_rate", "mae_ratio_vs_random_walk", "bias"):
        assert (
            "tickcast_model_rolling",
            frozenset({"symbol": "SYN001", "model": "served", "metric": metric}.items()),
        ) in second
    # the producer's invalid tick went to the DLQ before the worker ever saw it
    assert value(second, "tickcast_ticks_total", status="invalid") == 0

    with TestClient(create_app(Services(RedisLatestStore(redis_clean), None))) as client:
        client.get("/forecasts/SYN002")
        before = samples(client.get("/metrics").text)
        client.get("/forecasts/SYN002")
        after = samples(client.get("/metrics").text)
    name, route = "tickcast_api_request_seconds_count", "/forecasts/{symbol}"
    assert (
        value(after, name, route=route, status="200")
        == value(before, name, route=route, status="200") + 1
    )
