"""The ClickHouse store through chdb: schema, batched writes, collapse of re-written rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tickcast.records import Forecast, Tick
from tickcast.stores import ClickHouseError, ClickHouseStore

pytestmark = pytest.mark.integration
TS = 1_700_000_000_123


def forecast(ts: int, price: float = 10.0) -> Forecast:
    return Forecast("AAPL", ts, 1, "linear", "v1", "linear", price, 0.0, price, 9.0, 11.0, 0.5)


def test_schema_is_created_once_and_setup_is_idempotent(clickhouse: ClickHouseStore) -> None:
    clickhouse.setup()
    tables = {r["name"] for r in clickhouse.query("SHOW TABLES")}
    assert {"ticks", "forecasts", "outcomes", "model_metrics", "drift_events"} <= tables
    assert "dead_letters" in tables


def test_epoch_milliseconds_land_as_datetime64_ms(clickhouse: ClickHouseStore) -> None:
    clickhouse.insert("ticks", [Tick("AAPL", TS, 1.5, volume=None)])
    (row,) = clickhouse.query("SELECT ts, toUnixTimestamp64Milli(ts) AS ms, volume FROM ticks")
    assert row["ms"] == TS
    assert row["ts"] == datetime(2023, 11, 14, 22, 13, 20, 123000)
    assert row["volume"] is None


def test_rewritten_forecasts_collapse_under_final(clickhouse: ClickHouseStore) -> None:
    clickhouse.insert("forecasts", [forecast(TS), forecast(TS + 1)])
    clickhouse.insert("forecasts", [forecast(TS), forecast(TS + 1)])  # a replay writes again
    assert clickhouse.query("SELECT count() AS n FROM forecasts")[0]["n"] == 4
    assert clickhouse.query("SELECT count() AS n FROM forecasts FINAL")[0]["n"] == 2


def test_metric_rows_with_undefined_figures_are_stored_as_nan(clickhouse: ClickHouseStore) -> None:
    row = {"symbol": "AAPL", "ts": TS, "model": "mean", "window": "rolling", "based_on": "mean"}
    clickhouse.insert("model_metrics", [{**row, "n": 0}])
    (stored,) = clickhouse.query("SELECT n, isNaN(mae) AS undefined FROM model_metrics")
    assert stored == {"n": 0, "undefined": True}


def test_ttl_from_configuration_is_applied(chdb_url: str) -> None:
    store = ClickHouseStore(chdb_url, ttl_days=30)
    store.setup()
    try:
        ddl = store.query("SHOW CREATE TABLE forecasts")[0]["statement"]
        assert "TTL toDateTime(ts) + toIntervalDay(30)" in ddl
    finally:
        store.close()


def test_default_relative_chdb_path_is_a_directory_under_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = ClickHouseStore("chdb://./data/olap")
    store.setup()
    try:
        store.insert("ticks", [Tick("AAPL", TS, 1.5)])
        assert store.query("SELECT count() AS n FROM ticks")[0]["n"] == 1
    finally:
        store.close()
    assert (tmp_path / "data" / "olap").is_dir()


def test_unreachable_server_fails_with_the_address() -> None:
    store = ClickHouseStore("http://127.0.0.1:9/")
    with pytest.raises(ClickHouseError, match=r"ClickHouse at http://127.0.0.1:9/"):
        store.setup()
