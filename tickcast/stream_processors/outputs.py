"""What a batch of ticks produced, in the forms its sinks need.

The core appends every ok tick's outputs to a :class:`tickcast._core.Batch` as columns (and
the ``forecasts`` topic's messages as bytes); this wraps one cut of it. The hot sinks read
columns (ClickHouse gets Arrow tables built from the core's buffers without a copy) or bytes
(Kafka); records (Forecast, Label, Tick) are built only where a reader wants them: the latest
forecast per symbol, and tests and reports.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from tickcast._core import Batch
from tickcast.contract import Table
from tickcast.online_model import CoreConfig
from tickcast.online_model.learner import drift_event, metric_row
from tickcast.records import DeadLetter, DriftEvent, Forecast, Label, MetricRow, Tick

__all__ = ["DeadLetter", "Outputs"]

TIME = pa.timestamp("ms", tz="UTC")
# the core's integer columns (the rest are float64)
INTEGERS = {
    "symbol": np.uint32,
    "ts": np.int64,
    "seq": np.uint32,
    "label_ts": np.int64,
    "model": np.uint8,
    "based_on": np.uint8,
    "rolling": np.uint8,
}
WINDOWS = ["cumulative", "rolling"]  # model_metrics' window, by the core's rolling flag


def _dictionary(indexes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    """Indexes into ``values`` as a dictionary column (ClickHouse's LowCardinality); Arrow
    wants a dictionary without repeats, so repeated values share one entry."""
    unique = list(dict.fromkeys(values))
    if len(unique) != len(values):
        indexes = np.array([unique.index(v) for v in values], dtype=np.int32)[indexes]
    return pa.DictionaryArray.from_arrays(pa.array(indexes.astype(np.int32)), pa.array(unique))


def _columns(buffers: dict[str, bytes]) -> dict[str, np.ndarray]:
    """The core's column buffers as arrays (floats unless named in ``INTEGERS``), no copy."""
    return {
        name: np.frombuffer(buffer, dtype=INTEGERS.get(name, np.float64))
        for name, buffer in buffers.items()
    }


def _floats(values: np.ndarray, nullable: bool = False) -> pa.Array:
    return pa.array(values, mask=np.isnan(values)) if nullable else pa.array(values)


@dataclass
class Outputs:
    """One cut of the core's batch, and the dead letters of the same messages."""

    batch: Batch
    config: CoreConfig
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.batch)

    def rows(self, table: Table) -> int:
        return int(self.batch.rows(table))

    @functools.cached_property
    def _symbols(self) -> list[str]:
        return self.batch.symbols

    def arrow(self, table: Table, *, served_only: bool = False) -> pa.Table:
        """The rows of "ticks", "forecasts", "labels" or "model_metrics" as an Arrow table
        with the ClickHouse table's column names; ``served_only``: of "forecasts", only the
        served forecast's rows (not every model's)."""
        if table == "model_metrics":
            return self._metrics_arrow()
        c = _columns(self.batch.columns(table, served=served_only and table == "forecasts"))
        n = len(c["ts"])
        config = self.config
        columns: dict[str, pa.Array] = {
            "symbol": _dictionary(c["symbol"], self._symbols),
            "ts": pa.array(c["ts"]).cast(TIME),
            "seq": pa.array(c["seq"]),
        }
        if table == "ticks":
            columns["price"] = _floats(c["price"])
            for name in ("volume", "open", "high", "low", "close"):
                columns[name] = _floats(c[name], nullable=True)
        elif table == "forecasts":
            columns["horizon"] = pa.array(np.full(n, config.horizon, dtype=np.uint32))
            columns["model"] = _dictionary(c["model"], config.forecasters)
            columns["model_fingerprint"] = _dictionary(c["based_on"], config.fingerprints)
            columns["based_on"] = _dictionary(c["based_on"], config.names)
            for name in ("price", "predicted_return", "predicted_price", "lower", "upper"):
                columns[name] = _floats(c[name])
            columns["level"] = pa.array(np.full(n, config.level))
            columns["p_up"] = _floats(c["p_up"])
        else:
            columns["label_ts"] = pa.array(c["label_ts"]).cast(TIME)
            columns["horizon"] = pa.array(np.full(n, config.horizon, dtype=np.uint32))
            columns["realised_return"] = _floats(c["realised_return"])
        return pa.table(columns)

    def _metrics_arrow(self) -> pa.Table:
        c = _columns(self.batch.metric_columns())
        config = self.config
        columns: dict[str, pa.Array] = {
            "symbol": _dictionary(c.pop("symbol"), self._symbols),
            "ts": pa.array(c.pop("ts")).cast(TIME),
            "model": _dictionary(c.pop("model"), config.forecasters),
            "window": _dictionary(c.pop("rolling"), WINDOWS),
            "based_on": _dictionary(c.pop("based_on"), config.names),
            "n": pa.array(c.pop("n").astype(np.uint64)),
        }
        columns |= {name: _floats(values) for name, values in c.items()}
        return pa.table(columns)

    def newest_rolling(self, metrics: tuple[str, ...]) -> list[tuple[str, str, dict[str, float]]]:
        """(symbol, model, {metric: value}) of the last rolling-window row per symbol and
        model: what a gauge shows. Found in the columns: a record per metric row cost 2 us a
        tick at the cut."""
        c = _columns(self.batch.metric_columns())
        rolling = np.flatnonzero(c["rolling"] == 1)
        if not len(rolling):
            return []
        symbol, model = c["symbol"], c["model"]
        keys = symbol[rolling].astype(np.int64) * 256 + model[rolling]
        _, last_reversed = np.unique(keys[::-1], return_index=True)
        rows = rolling[len(rolling) - 1 - last_reversed]
        values = {name: c[name][rows] for name in metrics}
        forecasters = self.config.forecasters
        return [
            (
                self._symbols[symbol[row]],
                forecasters[model[row]],
                {name: float(values[name][i]) for name in metrics},
            )
            for i, row in enumerate(rows)
        ]

    def messages(self) -> list[tuple[bytes, bytes]]:
        """The ``forecasts`` topic's messages: (key = symbol, value) per ok tick."""
        return self.batch.messages()

    def metric_rows(self) -> list[MetricRow]:
        return [metric_row(row, self.config) for row in self.batch.metric_rows()]

    def drift_events(self) -> list[DriftEvent]:
        forecasters = self.config.forecasters
        return [drift_event(row, forecasters) for row in self.batch.drift_rows()]

    def latest(self, rows: list[int] | None = None) -> list[Forecast]:
        """Each symbol's last served forecast in this batch (or the forecasts of ``rows``)."""
        wanted = [row for _, row in self.batch.latest()] if rows is None else rows
        return [self.config.forecast(row) for row in self.batch.forecast_rows(wanted)]

    def forecasts(self) -> list[Forecast]:
        """Every forecast as a record (tests and reports: the hot path reads columns)."""
        return [Forecast(**row) for row in _records(self.arrow("forecasts"))]

    def labels(self) -> list[Label]:
        return [Label(**row) for row in _records(self.arrow("labels"))]

    def ticks(self) -> list[Tick]:
        return [Tick(**row) for row in _records(self.arrow("ticks"))]


def _records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts, event times back to epoch ms and missing values to None."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns[name] = column.to_pylist()
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
