"""The ClickHouse schema as ``schema.sql`` writes it (the one schema file, shipped in the
package): its tables read from the file, the records each table holds, and what a store does
at setup to reach it (create what is missing, add the columns a newer version writes, refuse
another layout, set the TTL only where it differs)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pyarrow as pa

from tickcast.events import emit
from tickcast.exceptions import PermanentWriteError
from tickcast.records import (
    DeadLetter,
    DriftEvent,
    Forecast,
    Label,
    MetricRow,
    Outcome,
    Tick,
    columns,
)

__all__ = [
    "SCHEMA",
    "TABLE_COLUMNS",
    "TIME_COLUMNS",
    "VIEW_COLUMNS",
    "Migration",
    "Table",
    "arrow_type",
    "schema_statements",
    "schema_tables",
]

log = logging.getLogger(__name__)

TABLE_RECORDS: dict[str, type] = {
    "ticks": Tick,
    "forecasts": Forecast,
    "labels": Label,
    "model_metrics": MetricRow,
    "drift_events": DriftEvent,
    "dead_letters": DeadLetter,
}
TABLE_COLUMNS = {table: columns(record) for table, record in TABLE_RECORDS.items()}
VIEW_COLUMNS = {"outcomes": columns(Outcome)}
ARROW_TYPES = {
    "String": pa.string(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Float64": pa.float64(),
    "DateTime64": pa.timestamp("ms", tz="UTC"),
}
TABLE_RE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
PARTITION_RE = re.compile(r"PARTITION BY toYYYYMM\((\w+)\)")
ORDER_RE = re.compile(r"ORDER BY \(([^)]*)\)")
TTL_RE = re.compile(r" TTL (.+?)(?: SETTINGS |$)")


def schema_statements() -> list[str]:
    """The statements of ``schema.sql``, the one schema file (shipped in the package)."""
    text = resources.files("tickcast.stores").joinpath("schema.sql").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


@dataclass(frozen=True)
class Table:
    """What the schema file says about one table: its columns' types, which ones the server
    fills in (a DEFAULT), and the column its partitions are months of."""

    types: dict[str, str]
    server: tuple[str, ...]
    partition: str
    key: tuple[str, ...]  # the sorting key: rows with the same key replace each other


def schema_tables() -> dict[str, Table]:
    """The tables of ``schema.sql``, read from the file itself (the one place they are
    written)."""
    tables = {}
    for statement in schema_statements():
        head = TABLE_RE.match(statement)
        if head is None:
            continue
        body = statement[statement.index("(") + 1 : statement.index("\nENGINE")].rsplit(")", 1)[0]
        types, server = {}, []
        for line in body.strip().splitlines():
            name, kind = line.strip().rstrip(",").split(None, 1)
            types[name] = kind
            if " DEFAULT " in f" {kind} ":
                server.append(name)
        partition = PARTITION_RE.search(statement)
        key = ORDER_RE.search(statement)
        tables[head.group(1)] = Table(
            types,
            tuple(server),
            partition.group(1) if partition else "",
            tuple(c.strip() for c in key.group(1).split(",")) if key else (),
        )
    return tables


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type a column of ClickHouse type ``kind`` is sent as (epoch-ms times as
    timestamps, never read as seconds).

    >>> arrow_type("Nullable(Float64)"), arrow_type("LowCardinality(String)")
    (DataType(double), DataType(string))
    """
    base = re.sub(r"^(?:Nullable|LowCardinality)\((.*)\)$", r"\1", kind)
    return ARROW_TYPES[base.split("(")[0]]


SCHEMA = schema_tables()
TIME_COLUMNS = {
    name
    for table in SCHEMA.values()
    for name, kind in table.types.items()
    if kind.startswith("DateTime64")
}


class Migration:
    """What a store does at setup with its writing ``client`` and its ``reader`` (which reads
    the system tables)."""

    def __init__(self, client: Any, reader: Any, ttl_days: int = 0) -> None:
        self.client = client
        self.reader = reader
        self.ttl_days = ttl_days

    def ensure(self) -> None:
        """Create what is missing, check that every table has the columns this version writes,
        and set the TTL where it differs."""
        statements = schema_statements()
        views = [s for s in statements if s.startswith("CREATE VIEW")]
        for statement in statements:
            if statement not in views:
                self.client.command(statement)
        self.add_new_columns()
        self.check_columns(TABLE_COLUMNS)  # before the views, which read the tables
        for statement in views:
            self.client.command(statement)
        self.check_columns(VIEW_COLUMNS)
        self.apply_ttl()

    def apply_ttl(self) -> None:
        """Each table's TTL as configured, altered only where it differs: an ALTER rewrites
        the table's TTL information, and several workers start at once."""
        wanted = f"written_at + toIntervalDay({int(self.ttl_days)})" if self.ttl_days > 0 else None
        engines = self.client.query(
            "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() "
            "AND name IN {tables:Array(String)}",
            parameters={"tables": list(TABLE_COLUMNS)},
        )
        for table, engine in engines.result_rows:
            found = TTL_RE.search(engine)
            current = found.group(1) if found else None
            if current == wanted:
                continue
            if wanted is None:
                self.client.command(f"ALTER TABLE {table} REMOVE TTL")
            else:
                self.client.command(f"ALTER TABLE {table} MODIFY TTL {wanted}")
            emit(
                log,
                "ttl_changed",
                "clickhouse: %s's TTL is now %s (was %s)",
                table,
                wanted,
                current,
                table=table,
                ttl=wanted,
                was=current,
            )

    def columns(self, tables: Sequence[str]) -> dict[str, set[str]]:
        result = self.reader.query(
            "SELECT table, groupArray(name) FROM system.columns WHERE database = "
            "currentDatabase() AND table IN {tables:Array(String)} GROUP BY table",
            parameters={"tables": list(tables)},
        )
        return {table: set(names) for table, names in result.result_rows}

    def add_new_columns(self) -> None:
        """A table an older version made gets the columns this version added (a newer
        metric, say), in the schema file's types: an upgrade keeps its history. A table
        without part of its sorting key, or with columns this version does not know, is
        another layout: left for :meth:`check_columns` to refuse."""
        for table, found in self.columns(list(TABLE_COLUMNS)).items():
            schema = SCHEMA[table]
            missing = [name for name in schema.types if name not in found]
            if set(missing) & set(schema.key) or found - set(schema.types):
                continue
            for name in missing:
                kind = schema.types[name]
                self.client.command(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                log.info("clickhouse: added column %s.%s (%s)", table, name, kind)

    def check_columns(self, tables: dict[str, list[str]]) -> None:
        """A table made by another version (other columns) is refused here, in one line,
        rather than at the first insert."""
        found = self.columns(list(tables))
        wanted = {
            table: set(columns) | set(SCHEMA[table].server if table in SCHEMA else ())
            for table, columns in tables.items()
        }
        for table, expected in wanted.items():
            if found.get(table, expected) != expected:
                missing = sorted(expected - found[table])
                extra = sorted(found[table] - expected)
                raise PermanentWriteError(
                    f"table {table} was made by another tickcast version (missing columns "
                    f"{missing}, unknown {extra}): drop it or point TICKCAST_CLICKHOUSE_URL "
                    "elsewhere (a replay rebuilds it)"
                )
