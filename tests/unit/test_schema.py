"""The records are the single source of the tables' columns: schema.sql must agree with them,
name for name and type for type."""

from __future__ import annotations

import re
import typing
from dataclasses import fields

from tickcast.online_model import CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.records import METRIC_NAMES, Outcome, columns, parse_tick
from tickcast.stores.clickhouse_schema import SCHEMA, TABLE_RECORDS, schema_statements
from tickcast.stream_processors import Pipeline

# ClickHouse types (without LowCardinality) that hold each Python type of a record's field
HOLDS = {
    str: {"String"},
    int: {"UInt32", "UInt64", "DateTime64(3, 'UTC')"},
    float: {"Float64"},
    float | None: {"Nullable(Float64)"},
}


def python_type(hint: object) -> object:
    return str if typing.get_origin(hint) is typing.Literal else hint


def test_every_table_has_exactly_its_records_fields() -> None:
    assert set(SCHEMA) == set(TABLE_RECORDS)
    for table, record in TABLE_RECORDS.items():
        types = {c: k for c, k in SCHEMA[table].types.items() if c not in SCHEMA[table].server}
        assert sorted(types) == sorted(columns(record)), table
        hints = typing.get_type_hints(record)
        for f in fields(record):
            if f.name in types:
                kind = re.sub(r"^LowCardinality\((.*)\)$", r"\1", types[f.name])
                assert kind in HOLDS[python_type(hints[f.name])], (table, f.name, kind)


def test_the_outcomes_view_has_exactly_the_outcome_fields() -> None:
    [view] = [s for s in schema_statements() if s.startswith("CREATE VIEW")]
    select = view[view.index("SELECT") : view.index("FROM")]
    assert re.findall(r"\bAS (\w+)\s*(?:,|$)", select, re.M) == columns(Outcome)


def test_the_cores_metric_columns_are_the_metric_rows_scores() -> None:
    pipeline = Pipeline(CoreConfig())
    pipeline.step([parse_tick(r) for r in synthetic_ticks(200, 2)])
    found = list(pipeline.take().batch.metric_columns())
    assert found == ["symbol", "ts", "model", "rolling", "based_on", *METRIC_NAMES]
