"""The embedded runner end to end: chdb, the latest store, dead letters, determinism."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from tests.conftest import make_ticks
from tests.factories import replay
from tickcast.analysis.backtest import run_backtest
from tickcast.online_model import SERVED, CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.records import Forecast
from tickcast.stores import ClickHouseStore, InMemoryLatestStore
from tickcast.stream_processors import ClickHouseSink, MemorySink, Pipeline
from tickcast.stream_processors.sinks import ForecastRows

pytestmark = pytest.mark.integration


def run_into(
    store: ClickHouseStore,
    records: list[Any],
    config: CoreConfig,
    latest: InMemoryLatestStore | None = None,
    forecasts: ForecastRows = "all",
) -> Pipeline:
    return replay(
        records,
        ClickHouseSink(store, forecasts),
        config=config,
        latest=latest or InMemoryLatestStore(),
        flush_interval_s=0.05,
        flush_max_rows=700,
    )


def stored_forecasts(store: ClickHouseStore) -> list[Forecast]:
    return store.records("forecasts", Forecast, order="ts, symbol, model")


def by_identity(forecasts: list[Forecast]) -> list[Forecast]:
    return sorted(forecasts, key=lambda f: (f.ts, f.symbol, f.model))


def test_embedded_runner_and_backtest_make_identical_forecasts(
    clickhouse: ClickHouseStore, config: CoreConfig
) -> None:
    records = list(synthetic_ticks(3000, 5, seed=2))
    store = InMemoryLatestStore()
    run_into(clickhouse, records, config, store)
    memory = MemorySink()
    run_backtest(records, config, sinks=[memory])
    stored = stored_forecasts(clickhouse)
    assert len(stored) == 3000 * (len(config.models) + 1)
    assert stored == by_identity(memory.forecasts)
    latest = store.get("SYN003")
    served = [f for f in memory.forecasts if f.symbol == "SYN003" and f.model == SERVED]
    assert latest == served[-1]


def test_by_default_clickhouse_keeps_the_served_forecast_of_each_tick(
    clickhouse: ClickHouseStore, config: CoreConfig
) -> None:
    records = list(synthetic_ticks(1200, 4, seed=5))
    run_into(clickhouse, records, config, forecasts="served")
    memory = MemorySink()
    run_backtest(records, config, sinks=[memory])
    served = [f for f in memory.forecasts if f.model == SERVED]
    assert stored_forecasts(clickhouse) == by_identity(served)
    assert clickhouse.query("SELECT count() AS n FROM outcomes")[0]["n"] == 1200 - 4
    models = clickhouse.query("SELECT DISTINCT model FROM model_metrics FINAL")
    assert {r["model"] for r in models} == {*(m.name for m in config.models), SERVED}


def test_every_model_has_exactly_one_forecast_per_tick(
    clickhouse: ClickHouseStore, config: CoreConfig
) -> None:
    run_into(clickhouse, list(synthetic_ticks(1200, 4)), config)
    counts = clickhouse.query("SELECT model, count() AS n FROM forecasts FINAL GROUP BY model")
    names = [*(m.name for m in config.models), SERVED]
    assert {r["model"]: r["n"] for r in counts} == dict.fromkeys(names, 1200)
    assert clickhouse.query("SELECT count() AS n FROM ticks FINAL")[0]["n"] == 1200
    assert clickhouse.query("SELECT count() AS n FROM labels FINAL")[0]["n"] == 1200 - 4
    outcomes = clickhouse.query("SELECT count() AS n FROM outcomes")[0]["n"]
    assert outcomes == (1200 - 4) * (len(config.models) + 1)
    assert clickhouse.query("SELECT count() AS n FROM model_metrics FINAL")[0]["n"] > 0


def test_bad_input_lands_in_dead_letters_with_its_reason(
    clickhouse: ClickHouseStore, config: CoreConfig
) -> None:
    good = list(synthetic_ticks(200, 2))
    bad: list[Any] = [
        b"{not json",
        {"symbol": "AAPL", "ts": 1_700_000_000_000, "price": float("nan")},
        {"symbol": "AAPL", "ts": 1_700_000_000_000, "price": -1},
        {"symbol": "AAPL", "ts": "soon", "price": 1},
        {"symbol": "AAPL", "ts": 1_700_000_000_000, "price": "1", "volume": "lots"},
        b'{"symbol": "AAPL"}',
    ]
    pipeline = run_into(clickhouse, good[:100] + bad + good[100:], config)
    assert pipeline.counts["invalid"] == len(bad)
    assert pipeline.counts["ok"] == 200
    reasons = sorted(r["reason"] for r in clickhouse.query("SELECT reason FROM dead_letters"))
    assert len(reasons) == len(bad)
    assert any(r.startswith("not JSON") for r in reasons)
    assert "price is NaN" in reasons
    assert "price must be positive, got -1.0" in reasons
    assert "volume must be a number, got 'lots'" in reasons
    payloads = clickhouse.query("SELECT payload FROM dead_letters WHERE reason LIKE 'not JSON%'")
    assert payloads == [{"payload": "{not json"}]


def test_two_replays_store_identical_forecasts_and_collapse(
    clickhouse: ClickHouseStore, config: CoreConfig
) -> None:
    records = list(synthetic_ticks(900, 3, seed=9))
    run_into(clickhouse, records, config)
    first = stored_forecasts(clickhouse)
    run_into(clickhouse, records, config)  # the same replay again, into the same tables
    assert stored_forecasts(clickhouse) == first


def test_duplicated_ticks_do_not_change_what_is_stored(
    clickhouse: ClickHouseStore, config: CoreConfig
) -> None:
    ticks = make_ticks(600, symbols=3)
    records = [asdict(t) for t in ticks]
    doubled = [r for r in records for _ in (0, 1)]
    pipeline = run_into(clickhouse, doubled, config)
    assert pipeline.counts["duplicate"] == 600
    memory = MemorySink()
    run_backtest(records, config, sinks=[memory])
    assert stored_forecasts(clickhouse) == by_identity(memory.forecasts)


def test_drift_events_reach_clickhouse_and_prometheus(clickhouse: ClickHouseStore) -> None:
    from prometheus_client import REGISTRY

    from tests.factories import START, regime_ticks

    def counted() -> float:
        return (
            REGISTRY.get_sample_value(
                "tickcast_drift_events_total", {"symbol": "X", "kind": "data"}
            )
            or 0.0
        )

    before = counted()
    records = [asdict(t) for t in regime_ticks(8000, change_at=5000)]
    replay(records, ClickHouseSink(clickhouse), flush_interval_s=0.05)
    rows = clickhouse.query(
        "SELECT kind, feature, toUnixTimestamp64Milli(ts) AS ts, value, threshold, reaction "
        "FROM drift_events FINAL WHERE symbol = 'X' ORDER BY ts"
    )
    assert rows
    assert all(row["kind"] == "data" for row in rows)
    assert START + 5000 * 1000 <= rows[0]["ts"] <= START + 6000 * 1000  # soon after the change
    assert all(row["value"] > row["threshold"] and row["reaction"] == "log" for row in rows)
    assert counted() - before == len(rows)
