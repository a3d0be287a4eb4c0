"""The hot path's targets (issue 13) from one `make bench` run: a table row per figure with its
reference from the same run, then one JSON line per target saying met or missed.

Reads the JSON lines the benchmarks printed (a file, or stdin); a figure a benchmark did not
print is reported missing, never met.

    .venv/bin/python bench/targets.py bench-results.jsonl
"""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Lines = list[dict[str, Any]]


def first(lines: Lines, **match: Any) -> dict[str, Any] | None:
    for line in lines:
        if all(line.get(key) == value for key, value in match.items()):
            return line
    return None


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    match: dict[str, Any]
    value: Callable[[dict[str, Any]], float | None]
    shown: Callable[[dict[str, Any]], str]  # the figure and its reference, for the table
    compare: str  # ">=", "<=" or "<"
    bound: float

    def check(self, lines: Lines) -> dict[str, Any]:
        line = first(lines, figure=self.figure, **self.match)
        value = self.value(line) if line is not None else None
        result: dict[str, Any] = {"target": self.name, "bound": f"{self.compare} {self.bound}"}
        if value is None:
            return result | {"value": None, "status": "missing", "row": "(not measured)"}
        met = {">=": operator.ge, "<=": operator.le, "<": operator.lt}[self.compare]
        status = "met" if met(value, self.bound) else "missed"
        return result | {"value": value, "status": status, "row": self.shown(line)}  # type: ignore[arg-type]


def worker(symbols: int, bound: float) -> Target:
    return Target(
        f"worker, {symbols} symbols, every sink / no-op Faust agent",
        "worker_ticks_per_s",
        {"symbols": symbols},
        lambda d: d.get("ratio_to_noop_faust_agent"),
        lambda d: (
            f"{d['value']:,} ticks/s | no-op Faust agent "
            f"{d['reference_noop_faust_agent_ticks_per_s']:,}/s "
            f"({d['ratio_to_noop_faust_agent']}); "
            f"bare core {d['reference_bare_core_ticks_per_s']:,}/s"
        ),
        ">=",
        bound,
    )


def latency(key: str, bound: float) -> Target:
    return Target(
        f"end-to-end {key[:3]} at 1,000 ticks/s (ms)",
        "end_to_end_latency",
        {"flush_interval_s": 0.5},
        lambda d: d.get(key),
        lambda d: (
            f"p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms | bare Redis publish p99 "
            f"{d['reference_bare_redis_publish']['p99_ms']} ms; no-op Faust delivery p50 "
            f"{d['reference_noop_faust_delivery']['p50_ms']} ms, p99 "
            f"{d['reference_noop_faust_delivery']['p99_ms']} ms"
        ),
        "<",
        bound,
    )


TARGETS = [
    worker(10, 0.5),
    worker(500, 0.35),
    Target(
        "bare core per tick / one River linear step",
        "core_us_per_tick",
        {},
        lambda d: d.get("ratio_to_river"),
        lambda d: (
            f"{d['value']} us | River StandardScaler|LinearRegression "
            f"{d['reference_river_linear_step_us']} us ({d['ratio_to_river']}x)"
        ),
        "<=",
        1.0,
    ),
    Target(
        "embedded runner, chdb on / bare core",
        "embedded_ticks_per_s",
        {"sinks": "clickhouse (chdb), latest, prometheus"},
        lambda d: d.get("ratio_to_bare_core"),
        lambda d: (
            f"{d['value']:,} ticks/s, {d['rows_per_tick']} rows and "
            f"{d['bytes_per_tick_compressed']} B per tick | bare core "
            f"{d['reference_bare_core_ticks_per_s']:,}/s ({d['ratio_to_bare_core']})"
        ),
        ">=",
        0.8,
    ),
    latency("p50_ms", 10.0),
    latency("p99_ms", 50.0),
    Target(
        "event loop's longest stall at 1,000 ticks/s (ms)",
        "end_to_end_latency",
        {"flush_interval_s": 0.5},
        lambda d: d.get("event_loop_longest_stall_ms"),
        lambda d: f"{d['event_loop_longest_stall_ms']} ms",
        "<=",
        5.0,
    ),
    Target(
        "API /forecasts/{symbol} / bare endpoint",
        "api_forecast_requests",
        {},
        lambda d: d.get("ratio_to_bare"),
        lambda d: (
            f"{d['requests_per_s']:,} req/s | bare endpoint "
            f"{d['reference_bare_endpoint']['requests_per_s']:,} ({d['ratio_to_bare']})"
        ),
        ">=",
        0.75,
    ),
    Target(
        "a forecast from Redis to a stream client, max (ms)",
        "stream_push_delay",
        {},
        lambda d: d.get("max_ms") if d.get("received") == d.get("forecasts") else None,
        lambda d: f"p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms, max {d['max_ms']} ms",
        "<",
        100.0,
    ),
    Target(
        "state per symbol (bytes)",
        "state_bytes_per_symbol",
        {},
        lambda d: d.get("value"),
        lambda d: f"{d['value']:,} B max, {d['mean']:,} B mean",
        "<=",
        8192,
    ),
]


def main() -> None:
    text = Path(sys.argv[1]).read_text() if len(sys.argv) > 1 else sys.stdin.read()
    lines = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    results = [target.check(lines) for target in TARGETS]
    print("| target | figure and reference (same run) | bound | status |")
    print("| --- | --- | --- | --- |")
    for result in results:
        print(f"| {result['target']} | {result['row']} | {result['bound']} | {result['status']} |")
    changelog = first(lines, figure="worker_ticks_per_s", symbols=10)
    if changelog is not None and "changelog_bytes_per_s" in changelog:
        print(
            f"changelog: {changelog['changelog_bytes_per_s']:,} B/s, "
            f"{changelog['changelog_bytes_per_tick']} B per tick (10 symbols)"
        )
    for result in results:
        print(json.dumps({k: v for k, v in result.items() if k != "row"}))


if __name__ == "__main__":
    main()
