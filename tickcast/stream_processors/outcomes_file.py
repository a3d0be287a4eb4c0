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

__all__ = ["Maturing", "OutcomesFile"]

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


class Maturing:
    """Joins each cut's forecasts with the labels that matured them; a forecast whose label
    comes in a later cut waits (at most a horizon of forecasts per symbol)."""

    def __init__(self) -> None:
        self.waiting: pa.Table | None = None

    @staticmethod
    def part(outputs: Outputs) -> tuple[pa.Table, pa.Table]:
        forecasts = _plain(outputs.arrow("forecasts"), FORECAST_COLUMNS)
        labels = _plain(outputs.arrow("labels"), [*KEYS, *LABEL_COLUMNS])
        return forecasts, labels

    def matured(self, forecasts: pa.Table, labels: pa.Table) -> pa.Table:
        """This cut's forecasts and the waiting ones that have their label now, joined."""
        if self.waiting is not None:
            forecasts = pa.concat_tables([self.waiting, forecasts])
        joined = forecasts.join(labels, keys=KEYS, join_type="left outer")
        matured = pc.is_valid(joined["realised_return"])
        self.waiting = joined.filter(pc.invert(matured)).select(FORECAST_COLUMNS)
        return joined.filter(matured)

    def never_matured(self) -> pa.Table:
        """The forecasts still waiting (the last ticks'), with empty label columns."""
        waiting = self.waiting or SCHEMA.empty_table().select(FORECAST_COLUMNS)
        self.waiting = None
        for name in LABEL_COLUMNS:
            waiting = waiting.append_column(name, pa.nulls(len(waiting), SCHEMA.field(name).type))
        return waiting


class OutcomesFile:
    """Writes one row per forecast of every forecaster: the forecast, its interval and P(up),
    then the realised return, whether the interval held it, and when it matured."""

    name = "outcomes_file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.maturing = Maturing()
        self.rows = 0

    def part(self, outputs: Outputs) -> tuple[pa.Table, pa.Table]:
        return self.maturing.part(outputs)

    async def write(self, part: tuple[pa.Table, pa.Table]) -> None:
        self._write(self.maturing.matured(*part))

    def close(self) -> None:
        """Write the forecasts that never matured (no outcome), then close the file."""
        self._write(self.maturing.never_matured(), last=True)
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
