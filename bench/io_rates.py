"""The producer's publish rate from a replay file, and ClickHouse sink rows/s (chdb), each with
a reference from the same run. Prints JSON lines. Needs a broker for the producer figure
(TICKCAST_KAFKA_BOOTSTRAP, default 127.0.0.1:9092).

    .venv/bin/python bench/io_rates.py --ticks 200000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

from tickcast.messages import dumps
from tickcast.online_model import CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick
from tickcast.stores import ClickHouseStore
from tickcast.stream_processors import ClickHouseSink, Pipeline

TICKCAST = str(Path(sys.executable).with_name("tickcast"))


def producer_from_file(ticks: int, folder: Path) -> None:
    bootstrap = os.environ.get("TICKCAST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    records = list(synthetic_ticks(ticks, 10))
    path = folder / "ticks.parquet"
    pd.DataFrame(records).to_parquet(path)
    topic = f"io-ticks-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TICKCAST_KAFKA_BOOTSTRAP": bootstrap,
        "TICKCAST_TICKS_TOPIC": topic,
        "TICKCAST_DLQ_TOPIC": topic + ".dlq",
        "TICKCAST_PRODUCER_METRICS_PORT": "0",
    }
    run = subprocess.run(
        [TICKCAST, "produce", str(path)], env=env, capture_output=True, text=True, check=True
    )
    rate = json.loads(run.stdout)["ticks_per_s"]
    from confluent_kafka import Producer

    raw = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
        }
    )
    payloads = [(r["symbol"].encode(), dumps(r)) for r in records]
    start = time.perf_counter()
    for key, value in payloads:
        while True:
            try:
                raw.produce(topic + "-raw", value, key)
                break
            except BufferError:
                raw.poll(0.05)
    raw.flush()
    bare = ticks / (time.perf_counter() - start)
    print(
        json.dumps(
            {
                "figure": "producer_from_file_ticks_per_s",
                "value": rate,
                "ticks": ticks,
                "reference_bare_confluent_kafka_produce_per_s": round(bare),
                "ratio_to_bare": round(rate / bare, 3),
            }
        )
    )


def clickhouse_rows(ticks: int, folder: Path) -> None:
    """One batch of ``ticks`` ticks' outputs (every table) written by the ClickHouse sink."""
    pipeline = Pipeline(CoreConfig())
    pipeline.step([parse_tick(record) for record in synthetic_ticks(ticks, 10)])
    store = ClickHouseStore(f"chdb://{folder / 'olap'}")
    store.setup()
    sink = ClickHouseSink(store)
    part = sink.part(pipeline.take())
    rows = sum(len(table) for table in part.values())
    start = time.perf_counter()
    asyncio.run(sink.write(part))
    rate = rows / (time.perf_counter() - start)
    store.client.command("CREATE TABLE bare (a Int64, b Float64, c String) ENGINE = Memory")
    data = [list(range(rows)), [0.5] * rows, ["AAPL"] * rows]
    start = time.perf_counter()
    store.client.insert("bare", data, column_names=["a", "b", "c"], column_oriented=True)
    bare = rows / (time.perf_counter() - start)
    store.close()
    print(
        json.dumps(
            {
                "figure": "clickhouse_sink_rows_per_s",
                "value": round(rate),
                "rows": rows,
                "reference_bare_three_column_insert_rows_per_s": round(bare),
                "ratio_to_bare": round(rate / bare, 3),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        producer_from_file(args.ticks, Path(folder))
        clickhouse_rows(args.ticks // 4, Path(folder))


if __name__ == "__main__":
    main()
