"""The REST API over real stores: one test per outcome, exact messages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import make_forecast
from tests.integration.conftest import fill
from tickcast.api import Services, create_app
from tickcast.stores import InMemoryLatestStore, RedisLatestStore

pytestmark = pytest.mark.integration


def test_forecast_for_known_symbol(client: TestClient) -> None:
    response = client.get("/forecasts/SYN001")
    assert response.status_code == 200
    body = response.json()
    assert body["symbol"] == "SYN001"
    assert body["ts"] == "2024-01-01T09:03:19Z"
    assert body["lower"] < body["predicted_price"] < body["upper"]
    assert 0 <= body["p_up"] <= 1
    assert body["model"] == "random_walk"
    assert body["interval_level"] == 0.9
    assert set(body) >= {"horizon", "price", "predicted_return", "model_version"}


def test_forecast_unknown_symbol_404(client: TestClient) -> None:
    response = client.get("/forecasts/NOPE")
    assert response.status_code == 404
    assert response.json() == {"detail": "no forecast for symbol 'NOPE'"}


def test_forecast_invalid_symbol_422(client: TestClient) -> None:
    response = client.get("/forecasts/not a symbol")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "symbol"]


def test_latest_for_requested_symbols_names_the_missing(client: TestClient) -> None:
    response = client.get("/forecasts/latest", params={"symbols": "SYN000,NOPE"})
    assert response.status_code == 200
    body = response.json()
    assert [f["symbol"] for f in body["forecasts"]] == ["SYN000"]
    assert body["missing"] == ["NOPE"]


def test_latest_without_symbols_lists_all(client: TestClient) -> None:
    body = client.get("/forecasts/latest").json()
    assert sorted(f["symbol"] for f in body["forecasts"]) == ["SYN000", "SYN001", "SYN002"]


def test_latest_rejects_invalid_symbols_422(client: TestClient) -> None:
    response = client.get("/forecasts/latest", params={"symbols": "AAPL,b@d"})
    assert response.status_code == 422
    [error] = response.json()["detail"]  # the shape the schema promises (HTTPValidationError)
    assert (error["loc"], error["msg"]) == (["query", "symbols"], "invalid symbol(s): b@d")


def test_the_interval_level_is_the_forecasts_own() -> None:
    """Not the API process's setting: a worker may run another level than the API's default."""
    latest = InMemoryLatestStore()
    latest.put_many([make_forecast("AAPL", level=0.8)])
    with TestClient(create_app(Services(latest, None))) as client:
        assert client.get("/forecasts/AAPL").json()["interval_level"] == 0.8
        latest_body = client.get("/forecasts/latest").json()
        assert latest_body["forecasts"][0]["interval_level"] == 0.8


def test_every_error_a_route_can_answer_is_in_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    routes = ("/forecasts/{symbol}", "/forecasts/{symbol}/history", "/forecasts/{symbol}/outcomes")
    routes += ("/symbols/{symbol}/quality", "/symbols/{symbol}/drift", "/symbols/{symbol}/versions")
    routes += ("/symbols/{symbol}/ticks",)
    for path in routes:
        responses = paths[path]["get"]["responses"]
        assert {"404", "422", "503"} <= set(responses), path


def test_history_newest_first_from_clickhouse(client: TestClient) -> None:
    response = client.get("/forecasts/SYN002/history", params={"limit": 5})
    assert response.status_code == 200
    stamps = [f["ts"] for f in response.json()]
    assert len(stamps) == 5
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] == client.get("/forecasts/SYN002").json()["ts"]


def test_history_unknown_symbol_404(client: TestClient) -> None:
    response = client.get("/forecasts/NOPE/history")
    assert response.status_code == 404
    assert response.json() == {"detail": "no forecast history for symbol 'NOPE'"}


@pytest.mark.parametrize("limit", [0, 10_001, "many"])
def test_history_bad_limit_422(client: TestClient, limit: object) -> None:
    assert client.get("/forecasts/SYN000/history", params={"limit": limit}).status_code == 422


def test_symbols_lists_every_forecast_symbol(client: TestClient) -> None:
    assert client.get("/symbols").json() == ["SYN000", "SYN001", "SYN002"]


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"latest": "ok", "clickhouse": "ok"}}


def test_metrics_expose_tick_counts_and_request_latency(client: TestClient) -> None:
    client.get("/forecasts/SYN000")
    text = client.get("/metrics").text
    assert 'tickcast_ticks_total{status="ok"}' in text
    assert 'tickcast_api_request_seconds_count{route="/forecasts/{symbol}",status="200"}' in text


def test_ready_503_names_the_unreachable_store() -> None:
    services = Services(RedisLatestStore("redis://127.0.0.1:9/0"), None)
    with TestClient(create_app(services)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"latest": "unreachable"}}


def test_history_without_clickhouse_503() -> None:
    with TestClient(create_app(Services(InMemoryLatestStore(), None))) as client:
        response = client.get("/forecasts/AAPL/history")
    assert response.status_code == 503
    assert response.json() == {"detail": "history is unavailable: no ClickHouse is configured"}


def test_api_serves_what_the_pipeline_wrote_to_redis(redis_clean: str) -> None:
    fill(None, RedisLatestStore(redis_clean), n=300)
    services = Services(RedisLatestStore(redis_clean), None)
    with TestClient(create_app(services)) as client:
        body = client.get("/forecasts/SYN000").json()
        assert body["symbol"] == "SYN000"
        assert body["ts"] == "2024-01-01T09:01:39Z"
        assert client.get("/symbols").json() == ["SYN000", "SYN001", "SYN002"]
