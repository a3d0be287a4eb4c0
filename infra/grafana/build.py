"""Grafana dashboards as code: writes infra/grafana/dashboards/*.json.

    .venv/bin/python infra/grafana/build.py        # after changing a panel here

The JSON files are committed (Grafana provisions them as they are); a test checks they are
what this script writes, that every ClickHouse query runs against the schema, and that every
Prometheus expression names metrics the code exports. ClickHouse panels use the official
grafana-clickhouse-datasource plugin's macros ($__timeFilter, $__timeInterval).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards"
CH = {"type": "grafana-clickhouse-datasource", "uid": "clickhouse"}
PROM = {"type": "prometheus", "uid": "prometheus"}
# The symbol as Grafana percent-encodes it, decoded by ClickHouse: nothing a user types into the
# variable (a URL's var-symbol) can leave the literal. Grafana's sqlstring format is not enough:
# it doubles quotes, and ClickHouse also honours backslash escapes (\' OR 1=1 --).
SYMBOL = "symbol = decodeURLComponent('${symbol:percentencode}')"


def sql(query: str, *, table: bool = False) -> dict[str, Any]:
    return {
        "datasource": CH,
        "editorType": "sql",
        "rawSql": " ".join(query.split()),
        "queryType": "table" if table else "timeseries",
        "format": 1 if table else 0,
        "refId": "A",
    }


def promql(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"datasource": PROM, "expr": expr, "legendFormat": legend, "refId": ref}


def panel(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    kind: str = "timeseries",
    w: int = 12,
    h: int = 8,
    unit: str = "",
) -> dict[str, Any]:
    """A panel; ``description`` is the question it answers (Grafana shows it on hover)."""
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": targets[0]["datasource"],
        "targets": targets,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
        "options": {},
    }


def dashboard(
    uid: str,
    title: str,
    panels: list[dict[str, Any]],
    *,
    symbol_variable: bool = True,
    annotations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    x = y = row_h = 0
    for number, p in enumerate(panels, 1):  # lay panels out left to right, top to bottom
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = number
        p["gridPos"] |= {"x": x, "y": y}
        x, row_h = x + w, max(row_h, h)
    variables = []
    if symbol_variable:
        variables.append(
            {
                "name": "symbol",
                "label": "symbol",
                "type": "query",
                "datasource": CH,
                "query": "SELECT DISTINCT symbol FROM forecasts ORDER BY symbol",
                "definition": "SELECT DISTINCT symbol FROM forecasts ORDER BY symbol",
                "refresh": 2,
                "current": {},
                "options": [],
                "includeAll": False,
                "multi": False,
            }
        )
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    return {
        "uid": uid,
        "title": title,
        "tags": ["tickcast"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
        "templating": {"list": variables},
        "annotations": {"list": [builtin, *(annotations or [])]},
    }


def live_forecasts() -> dict[str, Any]:
    return dashboard(
        "tickcast-live",
        "tickcast: live forecasts",
        [
            panel(
                "Price, served forecast and interval",
                "Where is the price going, and how sure is the served forecast?",
                [
                    sql(f"""SELECT ts AS time, price, predicted_price AS forecast, lower, upper
                       FROM forecasts FINAL WHERE {SYMBOL} AND model = 'served'
                       AND $__timeFilter(ts) ORDER BY time""")
                ],
                w=24,
                h=10,
                unit="currencyUSD",
            ),
            panel(
                "Latest forecast",
                "What does the system forecast for this symbol right now?",
                [
                    sql(
                        f"""SELECT ts, price, predicted_price, lower, upper, p_up, based_on,
                       model_fingerprint FROM forecasts FINAL WHERE {SYMBOL} AND model = 'served'
                       ORDER BY ts DESC LIMIT 1""",
                        table=True,
                    )
                ],
                kind="table",
                w=16,
                h=5,
            ),
            panel(
                "P(up)",
                "How likely is the next move up, by the served model?",
                [
                    sql(f"""SELECT ts AS time, p_up FROM forecasts FINAL WHERE {SYMBOL}
                       AND model = 'served' AND $__timeFilter(ts) ORDER BY time""")
                ],
                w=8,
                h=5,
                unit="percentunit",
            ),
            panel(
                "Served model over time",
                "Which model was served, and when did it change?",
                [
                    sql(f"""SELECT $__timeInterval(ts) AS time, based_on, count() AS forecasts
                       FROM forecasts FINAL WHERE {SYMBOL} AND model = 'served'
                       AND $__timeFilter(ts) GROUP BY time, based_on ORDER BY time""")
                ],
                kind="barchart",
                w=24,
                h=6,
            ),
        ],
    )


def model_quality() -> dict[str, Any]:
    def rolling(metric: str) -> dict[str, Any]:
        return sql(f"""SELECT ts AS time, model, {metric} FROM model_metrics FINAL
                       WHERE {SYMBOL} AND window = 'rolling' AND $__timeFilter(ts)
                       ORDER BY time""")

    return dashboard(
        "tickcast-quality",
        "tickcast: model quality",
        [
            panel(
                "Rolling MAE / random walk",
                "Does any model beat the random walk (below 1)?",
                [rolling("mae_ratio_vs_random_walk")],
                w=24,
                h=9,
            ),
            panel(
                "Hit rate",
                "How often is the sign of the forecast right (0.5 = coin)?",
                [rolling("hit_rate")],
                unit="percentunit",
            ),
            panel(
                "Interval coverage",
                "Do the intervals cover as often as promised (90 %)?",
                [rolling("coverage")],
                unit="percentunit",
            ),
            panel(
                "Bias",
                "Does a model over- or under-forecast on average (0 is unbiased)?",
                [rolling("bias")],
            ),
            panel(
                "Cumulative metrics",
                "How did each model do since the start?",
                [
                    sql(
                        f"""SELECT model, argMax(n, ts) AS n, argMax(mae, ts) AS mae,
                       argMax(mae_ratio_vs_random_walk, ts) AS mae_vs_rw,
                       argMax(hit_rate, ts) AS hit_rate, argMax(coverage, ts) AS coverage,
                       argMax(r2_oos, ts) AS r2_oos FROM model_metrics FINAL
                       WHERE {SYMBOL} AND window = 'cumulative' GROUP BY model
                       ORDER BY model""",
                        table=True,
                    )
                ],
                kind="table",
            ),
        ],
    )


def drift() -> dict[str, Any]:
    events = {
        "name": "drift events",
        "enable": True,
        "iconColor": "red",
        "datasource": CH,
        "target": sql(
            f"""SELECT ts AS time, concat(kind, ': ', if(model = '', feature, model))
                          AS text, detector AS tags FROM drift_events FINAL
                          WHERE {SYMBOL} AND $__timeFilter(ts) ORDER BY time""",
            table=True,
        ),
    }
    return dashboard(
        "tickcast-drift",
        "tickcast: drift",
        [
            panel(
                "PSI of shifted features",
                "Which inputs moved away from their reference?",
                [
                    sql(f"""SELECT ts AS time, feature, value AS psi FROM drift_events FINAL
                       WHERE {SYMBOL} AND kind IN ('data', 'prediction')
                       AND $__timeFilter(ts) ORDER BY time""")
                ],
                kind="barchart",
                w=24,
            ),
            panel(
                "Drift events",
                "What drifted, when, how strongly, and what was done?",
                [
                    sql(
                        f"""SELECT ts, kind, model, feature, detector, value, threshold, reaction
                       FROM drift_events FINAL WHERE {SYMBOL} AND $__timeFilter(ts)
                       ORDER BY ts DESC LIMIT 200""",
                        table=True,
                    )
                ],
                kind="table",
                w=16,
            ),
            panel(
                "Drift events per hour (all symbols)",
                "Is drift rare, or is something broken?",
                [promql("sum by (kind) (increase(tickcast_drift_events_total[1h]))", "{{kind}}")],
                w=8,
            ),
        ],
        annotations=[events],
    )


def pipeline_health() -> dict[str, Any]:
    def quantiles(metric: str) -> list[dict[str, Any]]:
        return [
            promql(
                f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket[5m])))",
                f"p{round(q * 100)}",
                ref,
            )
            for q, ref in ((0.5, "A"), (0.99, "B"))
        ]

    return dashboard(
        "tickcast-health",
        "tickcast: pipeline health",
        [
            panel(
                "Throughput",
                "How many ticks per second come in, and how many are forecast?",
                [
                    promql("sum by (status) (rate(tickcast_ticks_total[1m]))", "{{status}}"),
                    promql("sum(rate(tickcast_forecasts_total[1m]))", "forecasts", "B"),
                    promql("sum(rate(tickcast_published_total[1m]))", "published", "C"),
                ],
                unit="ops",
            ),
            panel(
                "Consumer lag",
                "Is a worker falling behind, and on which partition?",
                [promql("sum by (partition) (tickcast_consumer_lag)", "partition {{partition}}")],
            ),
            panel(
                "Processing latency",
                "How long from a tick's arrival to its outputs?",
                quantiles("tickcast_processing_latency_seconds"),
                unit="s",
            ),
            panel(
                "End-to-end latency",
                "How long from the producer to the latest forecast?",
                quantiles("tickcast_end_to_end_latency_seconds"),
                unit="s",
            ),
            panel(
                "Dead letters",
                "How much input is rejected, and why?",
                [
                    promql(
                        "sum by (reason) (rate(tickcast_ticks_invalid_total[5m]))", "{{reason}}"
                    ),
                    promql(
                        'sum(rate(tickcast_published_total{outcome="invalid"}[5m]))',
                        "rejected by the producer",
                        "B",
                    ),
                ],
                unit="ops",
            ),
            panel(
                "Sink writes and failures",
                "Are the outputs written, in what batches?",
                [
                    promql(
                        "sum by (sink) (rate(tickcast_sink_batch_rows_sum[5m]))", "{{sink}} rows"
                    ),
                    promql(
                        "sum by (sink) (rate(tickcast_sink_failures_total[5m]))",
                        "{{sink}} failures",
                        "B",
                    ),
                ],
            ),
            panel(
                "API latency p99 by route",
                "Is the API fast for every route?",
                [
                    promql(
                        "histogram_quantile(0.99, sum by (le, route) "
                        "(rate(tickcast_api_request_seconds_bucket[5m])))",
                        "{{route}}",
                    )
                ],
                w=24,
                unit="s",
            ),
        ],
        symbol_variable=False,
    )


DASHBOARDS = {
    "live_forecasts.json": live_forecasts,
    "model_quality.json": model_quality,
    "drift.json": drift,
    "pipeline_health.json": pipeline_health,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, build in DASHBOARDS.items():
        (OUT / name).write_text(render(build))
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
