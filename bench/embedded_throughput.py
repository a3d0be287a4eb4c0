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

from common import bare_core_rate

from tickcast.online_model import CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.stores import ClickHouseStore, InMemoryLatestStore
from tickcast.stream_processors import (
    ClickHouseSink,
    LatestSink,
    Pipeline,
    PrometheusSink,
    Sink,
    run_embedded,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=10)
    args = parser.parse_args()
    records = list(synthetic_ticks(args.ticks, args.symbols))
    bare = bare_core_rate(records)
    for sinks_name in ("clickhouse (chdb), latest, prometheus", "latest, prometheus"):
        with tempfile.TemporaryDirectory() as folder:
            store = ClickHouseStore(f"chdb://{folder}/olap")
            store.setup()
            sinks: list[Sink] = [LatestSink(InMemoryLatestStore()), PrometheusSink()]
            if sinks_name.startswith("clickhouse"):
                sinks.insert(0, ClickHouseSink(store))
            pipeline = Pipeline(CoreConfig(), sinks)
            start = time.perf_counter()
            asyncio.run(run_embedded(records, pipeline))
            embedded = args.ticks / (time.perf_counter() - start)
            store.close()
        print(json.dumps({
            "figure": "embedded_ticks_per_s", "value": round(embedded), "ticks": args.ticks,
            "symbols": args.symbols, "sinks": sinks_name,
            "reference_bare_core_ticks_per_s": round(bare),
            "ratio_to_bare_core": round(embedded / bare, 3),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
