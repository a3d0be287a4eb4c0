"""Grafana as code: dashboards are current, well-formed, and every query runs.

No Grafana runs here, so each ClickHouse panel query is run against the real schema in chdb with
the plugin's macros expanded to literal values, and each Prometheus expression must name metrics
that the code exports.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.dashboards import clickhouse_queries, expand
from tests.factories import START, regime_ticks, replay
from tickcast.stores import ClickHouseStore
from tickcast.stream_processors import ClickHouseSink

pytestmark = pytest.mark.integration
GRAFANA = Path(__file__).parents[2] / "infra" / "grafana"
FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
FROM, TO = START // 1000, START // 1000 + 10_000  # the regime ticks' event-time span, seconds


def load_builder() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return list(board["panels"])


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A chdb store with the schema and a run that drifted: every table has rows for X."""
    store = ClickHouseStore(f"chdb://{tmp_path_factory.mktemp('olap')}")
    store.setup()
    records = [asdict(t) for t in regime_ticks(8000, change_at=5000)]
    replay(records, ClickHouseSink(store))
    yield store
    store.close()


def test_the_dashboards_are_what_the_builder_writes() -> None:
    builder = load_builder()
    assert sorted(builder.DASHBOARDS) == [f.name for f in FILES]
    for file in FILES:
        assert file.read_text() == builder.render(builder.DASHBOARDS[file.name]), (
            f"{file.name} is stale: run .venv/bin/python infra/grafana/build.py"
        )


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_each_dashboard_has_what_grafana_needs(file: Path) -> None:
    board = json.loads(file.read_text())
    assert board["uid"].startswith("tickcast-")
    assert board["title"]
    assert board["schemaVersion"] >= 36
    ids = [p["id"] for p in panels(board)]
    assert len(set(ids)) == len(ids)
    for p in panels(board):
        assert p["type"] in {"timeseries", "table", "barchart", "stat"}
        assert p["title"]
        assert p["description"].endswith("?")  # the question the panel answers
        grid = p["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        assert grid["h"] > 0
        assert p["targets"]
        for target in p["targets"]:
            assert target["datasource"]["uid"] in {"clickhouse", "prometheus"}
            assert target.get("rawSql") or target.get("expr")


def test_dashboard_uids_are_unique_and_datasources_are_provisioned() -> None:
    uids = [json.loads(f.read_text())["uid"] for f in FILES]
    assert len(set(uids)) == len(uids) == 4
    provisioned = yaml.safe_load((GRAFANA / "provisioning/datasources/tickcast.yml").read_text())
    by_uid = {d["uid"]: d["type"] for d in provisioned["datasources"]}
    assert by_uid == {"clickhouse": "grafana-clickhouse-datasource", "prometheus": "prometheus"}
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/tickcast.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_every_clickhouse_query_runs_against_the_schema(
    file: Path, filled: ClickHouseStore
) -> None:
    board = json.loads(file.read_text())
    for title, query in clickhouse_queries(board):
        try:
            rows = filled.query(expand(query, FROM, TO, "X"))
        except Exception as exc:  # name the panel, not just the SQL error
            raise AssertionError(f"{file.name} / {title}: {exc}") from None
        if "drift" not in title.lower() or file.stem == "drift":
            assert rows, f"{file.name} / {title} returned no rows for a symbol with data"


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_the_symbol_variable_cannot_leave_its_literal(file: Path, filled: ClickHouseStore) -> None:
    """A value typed into the variable (a URL's var-symbol) that would close the literal: with
    Grafana's sqlstring, ClickHouse read the backslash as an escape and the rest as SQL, and
    every symbol's rows came back."""
    for title, query in clickhouse_queries(json.loads(file.read_text())):
        if "${symbol" not in query:
            continue
        for hostile in ("' OR 1=1 --", "\\' OR 1=1 --"):  # against quotes, against sqlstring
            rows = filled.query(expand(query, FROM, TO, hostile))
            assert not rows, f"{file.name} / {title} answered for {hostile!r}"
        assert filled.query(expand(query, FROM, TO, "X")), f"{file.name} / {title}"


@pytest.mark.parametrize("file", FILES, ids=[f.stem for f in FILES])
def test_every_query_that_counts_rows_reads_the_collapsed_table(file: Path) -> None:
    """Tables are ReplacingMergeTree: a re-delivered batch's rows count twice until a merge,
    so a panel that counts, averages or lists rows reads them with FINAL. Only a list of
    distinct values (the symbol variable) is the same either way."""
    for title, query in clickhouse_queries(json.loads(file.read_text())):
        if query.lstrip().upper().startswith("SELECT DISTINCT"):
            continue
        uncollapsed = re.findall(r"\bFROM\s+(\w+)(?!\s+FINAL)\b", query, flags=re.I)
        assert not uncollapsed, f"{file.name} / {title} reads {uncollapsed} without FINAL"


def test_every_prometheus_expression_names_exported_metrics() -> None:
    exported = set()
    for family in REGISTRY.collect():
        exported |= {family.name + s for s in ("", "_total", "_bucket", "_sum", "_count")}
    exprs = [
        t["expr"]
        for f in FILES
        for p in panels(json.loads(f.read_text()))
        for t in p["targets"]
        if "expr" in t
    ]
    assert exprs
    for expr in exprs:
        for name in re.findall(r"tickcast_\w+", expr):
            assert name in exported, f"{name} in {expr!r} is not a metric tickcast exports"
