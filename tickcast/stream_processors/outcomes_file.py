"""``backtest --outcomes FILE.parquet``: every forecast with its outcome, for analysis in pandas.

A sink, so a long backtest streams: each cut's forecasts are joined with the labels that
matured them (this cut's, or a later one's: a forecast waits ``horizon`` ticks for its label)
and written as one Parquet row group; forecasts still waiting are carried to the next cut,
so memory holds at most a horizon of forecasts per symbol. At :meth:`close`, the forecasts
that never matured (the last ``horizon`` ticks) are written with no outcome.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tickcast.stream_processors.outputs import Outputs

__all__ = ["OutcomesFile"]

KEYS = ["symbol", "ts", "seq"]
TIME = pa.timestamp("ms", tz="UTC")
SCHEMA = pa.schema(
    [
        ("symbol", pa.string()),
        ("ts", TIME),
        ("seq", pa.uint32()),
        ("model", pa.string()),
        ("based_on", pa.string()),
        ("horizon", pa.uint32()),
        *((name, pa.float64()) for name in ("price", "predicted_return", "predicted_price")),
        *((name, pa.float64()) for name in ("lower", "upper", "level", "p_up")),
        ("label_ts", TIME),
        ("realised_return", pa.float64()),
        ("inside", pa.bool_()),
    ]
)
FORECAST_COLUMNS = SCHEMA.names[: SCHEMA.get_field_index("label_ts")]
LABEL_COLUMNS = ["label_ts", "realised_return"]
ORDER = [(name, "ascending") for name in ("symbol", "ts", "seq", "model")]


def _plain(table: pa.Table, columns: list[str]) -> pa.Table:
    """The columns, dictionary-encoded ones as plain strings (one type in every row group)."""
    arrays = [
        pc.cast(table[c], pa.string()) if pa.types.is_dictionary(table[c].type) else table[c]
        for c in columns
    ]
    return pa.table(arrays, names=columns)


class OutcomesFile:
    """Writes one row per forecast of every forecaster: the forecast, its interval and P(up),
    then the realised return, whether the interval held it, and when it matured."""

    name = "outcomes_file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.waiting: pa.Table | None = None
        self.rows = 0

    def part(self, outputs: Outputs) -> tuple[pa.Table, pa.Table]:
        forecasts = _plain(outputs.arrow("forecasts"), FORECAST_COLUMNS)
        labels = _plain(outputs.arrow("labels"), [*KEYS, *LABEL_COLUMNS])
        return forecasts, labels

    async def write(self, part: tuple[pa.Table, pa.Table]) -> None:
        forecasts, labels = part
        if self.waiting is not None:
            forecasts = pa.concat_tables([self.waiting, forecasts])
        joined = forecasts.join(labels, keys=KEYS, join_type="left outer")
        matured = pc.is_valid(joined["realised_return"])
        self._write(joined.filter(matured))
        self.waiting = joined.filter(pc.invert(matured)).select(FORECAST_COLUMNS)

    def close(self) -> None:
        """Write the forecasts that never matured (no outcome), then close the file."""
        waiting = self.waiting or SCHEMA.empty_table().select(FORECAST_COLUMNS)
        self.waiting = None
        n = len(waiting)
        for name in LABEL_COLUMNS:
            if name not in waiting.column_names:
                waiting = waiting.append_column(name, pa.nulls(n, SCHEMA.field(name).type))
        self._write(waiting, last=True)
        assert self.writer is not None
        self.writer.close()

    def _write(self, table: pa.Table, last: bool = False) -> None:
        if not len(table) and not (last and self.writer is None):
            return  # an empty file still gets its schema, at the close
        realised = pc.multiply(table["price"], pc.exp(table["realised_return"]))
        inside = pc.and_(
            pc.less_equal(table["lower"], realised), pc.less_equal(realised, table["upper"])
        )
        table = table.append_column("inside", inside).select(SCHEMA.names).cast(SCHEMA)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, SCHEMA)
        self.writer.write_table(table.sort_by(ORDER))
        self.rows += len(table)
