"""What the application's Models, Drift and History pages read from the API, over real stores
(chdb and a local MLflow store): quality with the interval score and since when the served
model serves, drift events with their reactions, forecasts beside outcomes for a range, and
the registry's champion and challenger."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import factories
from tests.factories import START, regime_ticks
from tickcast.api import Services, create_app
from tickcast.online_model import SERVED, CoreConfig
from tickcast.online_model.checkpoints import CheckpointPolicy
from tickcast.producers import synthetic_ticks
from tickcast.producers.synthetic import START_MS
from tickcast.stores import ClickHouseStore, InMemoryLatestStore
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors import ClickHouseSink

pytestmark = pytest.mark.integration


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def test_quality_has_every_models_interval_score_and_since_when_the_served_one_serves(
    client: TestClient, clickhouse: ClickHouseStore
) -> None:
    body = client.get("/symbols/SYN000/quality").json()
    assert set(body["models"]) == {*CoreConfig().forecasters}
    assert all(m["interval_score"] > 0 for m in body["models"].values())
    assert body["selected"] == body["models"][SERVED]["based_on"]
    [row] = clickhouse.query(
        "SELECT toUnixTimestamp64Milli(max(ts)) AS other FROM model_metrics FINAL"
        " WHERE symbol = 'SYN000' AND model = 'served' AND window = 'rolling'"
        " AND based_on != {selected:String}",
        {"selected": body["selected"]},
    )
    since = body["served_since"]
    assert since is not None
    assert row["other"] == 0 or since > iso(row["other"])  # after the last row of another


def test_quality_of_an_unknown_symbol_is_404(client: TestClient) -> None:
    response = client.get("/symbols/NOPE/quality")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "no metrics yet for symbol 'NOPE'"},
    )


def test_outcomes_for_a_range_are_oldest_first_and_say_when_cut(client: TestClient) -> None:
    newest = client.get("/forecasts/SYN001/outcomes", params={"limit": 5}).json()
    stamps = [o["ts"] for o in newest["outcomes"]]
    assert len(stamps) == 5
    assert stamps == sorted(stamps)
    assert newest["truncated"]
    start, end = iso(START_MS + 50_000), iso(START_MS + 150_000)
    ranged = client.get("/forecasts/SYN001/outcomes", params={"start": start, "end": end}).json()
    outcomes = ranged["outcomes"]
    assert len(outcomes) == 100
    assert not ranged["truncated"]
    assert outcomes[0]["ts"] == start
    assert outcomes[-1]["ts"] < end
    assert all(o["label_ts"] > o["ts"] for o in outcomes)
    assert all(
        o["inside"] == (o["lower_return"] <= o["realised_return"] <= o["upper_return"])
        for o in outcomes
    )
    cut = client.get("/forecasts/SYN001/outcomes", params={"start": start, "limit": 10}).json()
    assert [o["ts"] for o in cut["outcomes"]] == [o["ts"] for o in outcomes[:10]]
    assert cut["truncated"]


def test_outcomes_errors(client: TestClient) -> None:
    missing = client.get("/forecasts/NOPE/outcomes")
    assert missing.json() == {"detail": "no outcomes yet for symbol 'NOPE'"}
    empty = client.get("/forecasts/NOPE/outcomes", params={"start": "2030-01-01T00:00:00Z"})
    assert empty.json() == {"symbol": "NOPE", "outcomes": [], "truncated": False}
    backwards = client.get(
        "/forecasts/SYN000/outcomes",
        params={"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["msg"] == "end must be after start"


def test_drift_events_come_oldest_first_with_what_was_done(clickhouse: ClickHouseStore) -> None:
    records = [asdict(t) for t in regime_ticks(8000, change_at=5000)]
    factories.replay(records, ClickHouseSink(clickhouse), flush_interval_s=0.05)
    app = create_app(Services(InMemoryLatestStore(), clickhouse))
    with TestClient(app) as client:
        events = client.get("/symbols/X/drift").json()
        assert events
        stamps = [e["ts"] for e in events]
        assert stamps == sorted(stamps)
        assert iso(START + 5000 * 1000) <= stamps[0]  # not before the change
        assert all(e["reaction"] in {"log", "reset", "boost_lr"} for e in events)
        assert all(e["value"] > e["threshold"] for e in events if e["kind"] == "data")
        newest = client.get("/symbols/X/drift", params={"limit": 1}).json()
        assert newest == events[-1:]
        assert client.get("/symbols/NOPE/drift").json() == []


def test_versions_name_the_champion_and_the_challenger(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = BackgroundRegistry(uri, watch=False).start()
    records = list(synthetic_ticks(1700, 1, seed=3, ar=0.7, jump_prob=0.0))
    factories.replay(records, registry=registry, policy=CheckpointPolicy(400), moves_aliases=True)
    registry.close(timeout=60)
    app = create_app(Services(InMemoryLatestStore(), None, mlflow_uri=uri))
    with TestClient(app) as client:
        body = client.get("/symbols/SYN000/versions").json()
        versions = body["versions"]
        assert [v["version"] for v in versions] == sorted(
            (v["version"] for v in versions), reverse=True
        )
        assert body["challenger"] == versions[0]["version"]  # the newest checkpoint
        assert body["champion"] is not None
        assert not body["pinned"]
        champion = next(v for v in versions if v["version"] == body["champion"])
        assert "champion" in champion["aliases"]
        assert champion["selected_model"] != "random_walk"
        assert {v["origin"] for v in versions} == {"worker"}
        short = client.get("/symbols/SYN000/versions", params={"limit": 1}).json()
        assert len(short["versions"]) == 1
        unknown = client.get("/symbols/NOPE/versions")
        assert unknown.json() == {"detail": "no registered versions for symbol 'NOPE'"}


def test_versions_without_a_registry_are_503() -> None:
    with TestClient(create_app(Services(InMemoryLatestStore(), None))) as client:
        response = client.get("/symbols/SYN000/versions")
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "the model registry is unavailable: no MLflow URI is configured"},
    )


def test_ticks_come_oldest_first_with_their_bars_where_the_source_had_them(
    clickhouse: ClickHouseStore,
) -> None:
    bars = [
        {**t, "open": t["price"] - 0.5, "high": t["price"] + 1, "low": t["price"] - 1}
        | {"close": t["price"], "volume": 1000.0}
        for t in synthetic_ticks(40, ["BARS"])
    ]
    factories.replay(
        bars + list(synthetic_ticks(40, ["PLAIN"])),
        ClickHouseSink(clickhouse),
        flush_interval_s=0.05,
    )
    with TestClient(create_app(Services(InMemoryLatestStore(), clickhouse))) as client:
        got = client.get("/symbols/BARS/ticks", params={"limit": 10}).json()
        assert [t["ts"] for t in got] == [iso(b["ts"]) for b in bars[-10:]]
        assert all(t["high"] == t["price"] + 1 and t["close"] == t["price"] for t in got)
        plain = client.get("/symbols/PLAIN/ticks").json()
        assert len(plain) == 40
        assert all(t["open"] is None and t["close"] is None for t in plain)  # no bars
        missing = client.get("/symbols/NOPE/ticks")
        assert missing.json() == {"detail": "no ticks for symbol 'NOPE'"}
