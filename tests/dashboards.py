"""Reading Grafana's dashboards as its ClickHouse plugin would: every query of a board, and a
query with the plugin's macros and the symbol variable expanded to literal values."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote


def clickhouse_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, SQL) of every ClickHouse query of a board: panels, annotations, variables."""
    found = [
        (p["title"], t["rawSql"]) for p in board["panels"] for t in p["targets"] if "rawSql" in t
    ]
    found += [
        (a["name"], a["target"]["rawSql"]) for a in board["annotations"]["list"] if "target" in a
    ]
    variables = board["templating"]["list"]
    found += [(v["name"], v["query"]) for v in variables if v["datasource"]["uid"] == "clickhouse"]
    return found


def expand(query: str, start: int, end: int, symbol: str) -> str:
    """The query as Grafana sends it for the range ``start``..``end`` (epoch seconds)."""
    query = re.sub(
        r"\$__timeFilter\((\w+)\)", rf"\1 >= toDateTime({start}) AND \1 <= toDateTime({end})", query
    )
    query = re.sub(
        r"\$__timeInterval\((\w+)\)",
        r"toStartOfInterval(toDateTime(\1), INTERVAL 60 second)",
        query,
    )
    query = query.replace("${symbol:percentencode}", percentencode(symbol))
    assert "$" not in query, f"unexpanded macro in {query}"
    return query


def percentencode(value: str) -> str:
    r"""Grafana's ``:percentencode`` (encodeURIComponentStrict): all but letters, digits and
    ``-_.~`` as %XX, upper-case.

    >>> percentencode("\\' OR 1=1 --"), percentencode("BRK.B"), percentencode("^GSPC")
    ('%5C%27%20OR%201%3D1%20--', 'BRK.B', '%5EGSPC')
    """
    return quote(value, safe="")
