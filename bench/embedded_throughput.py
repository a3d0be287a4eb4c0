"""Ticks/s of the embedded runner (chdb, in-process latest store, Prometheus sink, registry off)
against the bare core loop on the same ticks, in the same run. Prints JSON lines: one with
every sink, one without ClickHouse, which shows the runner's own cost apart from chdb's engine
(it runs in this process, on the same cores).

    .venv/bin/python bench/embedded_throughput.py --ticks 100000 --symbols 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from typing import Any

from common import bare_core_rate

from tickcast import bootstrap
from tickcast.online_model import CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.stores import ClickHouseStore, InMemoryLatestStore
from tickcast.stream_processors import ClickHouseSink, PrometheusObserver, Sink, run_embedded

REPEATS = 3  # the best of three, for the reference too: the machine is shared
SINKS = ("clickhouse (chdb), latest, prometheus", "latest, prometheus")
TABLES = ("ticks", "forecasts", "labels", "model_metrics", "drift_events", "dead_letters")


def stored(store: ClickHouseStore, ticks: int) -> dict[str, float]:
    """Rows and bytes per tick over every table, from ClickHouse's own parts (compressed on
    disk, and uncompressed as ClickHouse counts them)."""
    [row] = store.query(
        "SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS packed, "
        "sum(data_uncompressed_bytes) AS raw FROM system.parts WHERE active AND database = "
        "currentDatabase() AND table IN {tables:Array(String)}",
        {"tables": list(TABLES)},
    )
    return {
        "rows_per_tick": round(row["rows"] / ticks, 2),
        "bytes_per_tick_compressed": round(row["packed"] / ticks, 1),
        "bytes_per_tick_uncompressed": round(row["raw"] / ticks, 1),
    }


def replay(records: list[Any], with_clickhouse: bool) -> tuple[float, dict[str, float]]:
    """Ticks/s of one replay into fresh stores, and the stored layout (with ClickHouse)."""
    with tempfile.TemporaryDirectory() as folder:
        store = ClickHouseStore(f"chdb://{folder}/olap")
        store.setup()
        sinks: list[Sink] = [ClickHouseSink(store)] if with_clickhouse else []
        runtime = bootstrap.runtime(
            CoreConfig(),
            sinks,
            latest=InMemoryLatestStore(),
            observers=[PrometheusObserver()],
        )
        start = time.perf_counter()
        asyncio.run(run_embedded(records, runtime))
        rate = len(records) / (time.perf_counter() - start)
        layout = stored(store, len(records)) if with_clickhouse else {}
        store.close()
    return rate, layout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=10)
    args = parser.parse_args()
    records = list(synthetic_ticks(args.ticks, args.symbols))
    bare = 0.0
    best: dict[str, tuple[float, dict[str, float]]] = {}
    for _ in range(REPEATS):  # interleaved: a slow spell of the machine hits every figure
        bare = max(bare, bare_core_rate(records))
        for sinks_name in SINKS:
            rate, layout = replay(records, with_clickhouse=sinks_name.startswith("clickhouse"))
            if rate > best.get(sinks_name, (0.0, {}))[0]:
                best[sinks_name] = rate, layout
    for sinks_name, (embedded, layout) in best.items():
        print(
            json.dumps(
                {
                    "figure": "embedded_ticks_per_s",
                    "value": round(embedded),
                    "ticks": args.ticks,
                    "symbols": args.symbols,
                    "sinks": sinks_name,
                    "reference_bare_core_ticks_per_s": round(bare),
                    "ratio_to_bare_core": round(embedded / bare, 3),
                    **layout,
                }
            )
        )


if __name__ == "__main__":
    main()
