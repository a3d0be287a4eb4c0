"""The history the API reads, by what it means (a symbol's newest ticks, its served
forecasts, their outcomes, each model's quality): the SQL stays here, out of the routes, on a
:class:`~tickcast.stores.clickhouse.ClickHouseStore` that reads under its limits."""

from __future__ import annotations

from typing import Any, TypeVar

from tickcast.contract import SERVED
from tickcast.records import DriftEvent, Forecast, Outcome, Tick
from tickcast.stores.clickhouse import ClickHouseStore

__all__ = ["HistoryReader"]

R = TypeVar("R")
SYMBOL = "symbol = {symbol:String}"
ROLLING = SYMBOL + " AND window = 'rolling'"
SERVED_ROWS = SYMBOL + " AND model = {model:String}"


class HistoryReader:
    """Named reads of one store; each raises what the store raises (the routes answer 503)."""

    def __init__(self, store: ClickHouseStore) -> None:
        self.store = store

    def ticks(self, symbol: str, limit: int) -> list[Tick]:
        """The symbol's newest ``limit`` ticks, oldest first."""
        return self._newest("ticks", Tick, symbol, limit, order="ts DESC, seq DESC")

    def drift_events(self, symbol: str, limit: int) -> list[DriftEvent]:
        """The symbol's newest ``limit`` drift events, oldest first."""
        return self._newest("drift_events", DriftEvent, symbol, limit)

    def served_forecasts(self, symbol: str, limit: int) -> list[Forecast]:
        """The symbol's newest ``limit`` served forecasts, newest first."""
        return self.store.records(
            "forecasts",
            Forecast,
            SERVED_ROWS,
            {"symbol": symbol, "model": SERVED},
            order="ts DESC, seq DESC",
            limit=limit,
        )

    def outcomes(
        self, symbol: str, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[Outcome]:
        """Up to ``limit`` served forecasts made in [start, end) with their outcomes: from
        ``start`` oldest first; without it, the newest first."""
        where = SERVED_ROWS
        params: dict[str, Any] = {"symbol": symbol, "model": SERVED}
        for name, value, op in (("start", start_ms, ">="), ("end", end_ms, "<")):
            if value is not None:
                where += f" AND ts {op} {{{name}:Int64}}"  # records() selects ts as epoch ms
                params[name] = value
        order = "ts DESC, seq DESC" if start_ms is None else "ts, seq"
        return self.store.records("outcomes", Outcome, where, params, order=order, limit=limit)

    def quality(self, symbol: str) -> list[dict[str, Any]]:
        """Each forecaster's newest rolling quality: model, based_on, n, mae, mae_ratio,
        hit_rate, coverage, interval_score."""
        return self.store.query(
            "SELECT model, argMax(based_on, ts) AS based_on, argMax(n, ts) AS n,"
            " argMax(mae, ts) AS mae, argMax(mae_ratio_vs_random_walk, ts) AS mae_ratio,"
            " argMax(hit_rate, ts) AS hit_rate, argMax(coverage, ts) AS coverage,"
            " argMax(interval_score, ts) AS interval_score"
            f" FROM model_metrics FINAL WHERE {ROLLING} GROUP BY model ORDER BY model",
            {"symbol": symbol},
        )

    def served_since(self, symbol: str, selected: str) -> int | None:
        """When (epoch ms) the served forecast began to come from ``selected``: the first
        metrics row after the last one that served another model."""
        [row] = self.store.query(
            "SELECT toUnixTimestamp64Milli(min(ts)) AS since FROM model_metrics FINAL"
            f" WHERE {ROLLING} AND model = {{served:String}} AND ts > ("
            " SELECT max(ts) FROM model_metrics FINAL"
            f" WHERE {ROLLING} AND model = {{served:String}} AND based_on != {{selected:String}})",
            {"symbol": symbol, "served": SERVED, "selected": selected},
        )
        return int(row["since"]) if row["since"] else None

    def _newest(
        self, table: str, record: type[R], symbol: str, limit: int, order: str = "ts DESC"
    ) -> list[R]:
        found = self.store.records(table, record, SYMBOL, {"symbol": symbol}, order, limit)
        return found[::-1]
