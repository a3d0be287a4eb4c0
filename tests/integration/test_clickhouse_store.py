"""The ClickHouse store through chdb: schema, batched writes, collapse of re-written rows."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_forecast
from tests.isolated import logged
from tickcast.exceptions import PermanentWriteError, TransientWriteError
from tickcast.records import Forecast, Label, Outcome, Tick, parse_ts
from tickcast.stores import ClickHouseError, ClickHouseStore

pytestmark = pytest.mark.integration
TS = 1_700_000_000_123


def forecast(ts: int, price: float = 10.0) -> Forecast:
    return make_forecast(
        "AAPL",
        ts,
        model="linear",
        price=price,
        predicted_return=0.0,
        predicted_price=price,
        lower=9.0,
        upper=11.0,
        p_up=0.5,
    )


def label() -> Label:
    return Label("AAPL", TS, 0, TS + 1000, 1, 0.01)


def test_schema_is_created_once_and_setup_is_idempotent(clickhouse: ClickHouseStore) -> None:
    clickhouse.setup()
    tables = {r["name"] for r in clickhouse.query("SHOW TABLES")}
    assert {"ticks", "forecasts", "labels", "outcomes", "model_metrics", "drift_events"} <= tables
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


def test_the_ttl_is_keyed_on_write_time_so_replayed_history_is_kept(chdb_url: str) -> None:
    store = ClickHouseStore(chdb_url, ttl_days=30)
    store.setup()
    try:
        ddl = store.query("SHOW CREATE TABLE forecasts")[0]["statement"]
        assert "TTL written_at + toIntervalDay(30)" in ddl
        store.insert("forecasts", [forecast(parse_ts("1995-03-01")), forecast(TS)])
        store.client.command("OPTIMIZE TABLE forecasts FINAL")  # runs the TTL's merge now
        assert store.query("SELECT count() AS n FROM forecasts")[0]["n"] == 2
    finally:
        store.close()


def test_the_ttl_is_altered_only_when_it_changed(
    chdb_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every worker of the stack sets it at start: an ALTER each time rewrites every part's
    TTL information; unchanged, nothing is altered."""

    def start(days: int) -> list[dict[str, Any]]:
        caplog.clear()
        store = ClickHouseStore(chdb_url, ttl_days=days)
        with caplog.at_level(logging.INFO, "tickcast.stores"):
            store.setup()
        ddl = store.query("SHOW CREATE TABLE ticks")[0]["statement"]
        store.close()
        assert ("TTL written_at + toIntervalDay" in ddl) == (days > 0)
        return logged(caplog.records, "ttl_changed")

    assert len(start(90)) == 6  # one per table
    assert start(90) == []
    assert len(start(30)) == 6
    assert all(e["was"] == "written_at + toIntervalDay(30)" and e["ttl"] is None for e in start(0))


def test_thirty_years_of_daily_rows_go_in_with_one_insert(clickhouse: ClickHouseStore) -> None:
    """360 monthly partitions: ClickHouse refuses a block over more than 100 of them."""
    days = [parse_ts("1995-01-02") + i * 86_400_000 for i in range(0, 30 * 365, 1)]
    clickhouse.insert("ticks", [Tick("AAPL", ts, 100.0 + i % 7) for i, ts in enumerate(days)])
    stored = clickhouse.query(
        "SELECT count() AS n, uniqExact(toYYYYMM(ts)) AS months FROM ticks FINAL"
    )[0]
    assert stored == {"n": len(days), "months": 360}


def test_an_embedded_store_another_process_holds_is_refused_naming_it(tmp_path: Path) -> None:
    """chdb opens a path in one process; its own refusal says only BAD_ARGUMENTS."""
    url = f"chdb://{tmp_path / 'olap'}"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(ClickHouseError) as refused:
            ClickHouseStore(url).setup()
    finally:
        holder.kill()
        holder.wait(10)
    assert str(refused.value) == (
        f"ClickHouse at {url}: process {holder.pid} holds this embedded store, and chdb opens "
        "a path in one process only: give this process a path of its own or share a ClickHouse "
        "server (an API: serve it from that process, tickcast worker --serve)"
    )


HOLD = """
import signal, sys
from tickcast.stores import ClickHouseStore
store = ClickHouseStore(sys.argv[1])
store.setup()
store.query("SELECT count() FROM ticks")  # chdb locks the path at its first query
print("open", flush=True)
signal.pause()  # holds the store until the test ends it
"""


def test_a_table_of_another_layout_is_refused_at_setup_in_one_line(chdb_url: str) -> None:
    old = ClickHouseStore(chdb_url)
    old.setup()
    old.client.command("DROP TABLE forecasts")
    old.client.command(
        "CREATE TABLE forecasts (symbol String, ts DateTime64(3, 'UTC'), price Float64) "
        "ENGINE = ReplacingMergeTree ORDER BY (symbol, ts)"
    )
    old.close()
    store = ClickHouseStore(chdb_url)
    with pytest.raises(ClickHouseError) as info:
        store.setup()
    message = str(info.value)
    assert "table forecasts was made by another tickcast version" in message
    assert "\n" not in message
    store.close()


def test_a_table_an_older_version_made_gets_the_new_columns_and_keeps_its_rows(
    chdb_url: str,
) -> None:
    old = ClickHouseStore(chdb_url)
    old.setup()
    old.client.command("ALTER TABLE model_metrics DROP COLUMN log_loss")  # before log loss
    old.client.command(
        "INSERT INTO model_metrics (symbol, ts, model, window, based_on, n, mae) "
        "VALUES ('AAPL', '2024-01-02 00:00:00', 'linear', 'rolling', 'linear', 5, 0.01)"
    )
    old.close()
    store = ClickHouseStore(chdb_url)
    store.setup()
    rows = store.query("SELECT n, mae, log_loss FROM model_metrics")
    assert rows == [{"n": 5, "mae": 0.01, "log_loss": 0.0}]
    store.close()


def test_a_refused_insert_is_permanent_and_names_the_table(clickhouse: ClickHouseStore) -> None:
    clickhouse.client.command("ALTER TABLE labels DROP COLUMN realised_return")
    with pytest.raises(PermanentWriteError, match="refused rows for table labels"):
        clickhouse.insert("labels", [label()])


def test_the_outcomes_view_joins_each_forecast_with_its_label_once(
    clickhouse: ClickHouseStore,
) -> None:
    """One label per tick serves every model's outcome (a third of the rows a table per
    model would write); rows written twice collapse in the view as in the tables."""
    forecasts = [
        make_forecast(
            "AAPL", TS, model=m, price=100.0, lower=99.0, upper=102.0, predicted_return=0.001
        )
        for m in ("linear", "served")
    ]
    for _ in range(2):
        clickhouse.insert("forecasts", forecasts)
        clickhouse.insert("labels", [label()])
    rows = clickhouse.records("outcomes", Outcome, order="model")
    assert [row.model for row in rows] == ["linear", "served"]
    row = rows[0]
    assert (row.label_ts, row.realised_return, row.predicted_return) == (TS + 1000, 0.01, 0.001)
    assert row.lower_return == pytest.approx(math.log(0.99))
    assert row.upper_return == pytest.approx(math.log(1.02))
    assert row.inside  # 100 * e^0.01 = 101.005, within [99, 102]


def test_an_unreachable_server_is_a_transient_failure() -> None:
    store = ClickHouseStore("http://127.0.0.1:9/")
    with pytest.raises(TransientWriteError, match="table ticks"):
        store.insert("ticks", [Tick("AAPL", TS, 1.5)])


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
