"""Ticks/s through one `tickcast worker` (Kafka in, every sink on), with the bare core as reference.

Publishes N synthetic ticks with `tickcast produce` (its publish rate is the producer figure),
then starts a worker on the backlog and times it from its first to its last forecast message
(Kafka record timestamps). Two references from the same run: the bare core loop on the same
ticks, and a no-op Faust agent reading the same topic (``faust_noop.py``: Faust's ceiling).
Prints JSON lines. Needs a broker (TICKCAST_KAFKA_BOOTSTRAP, default 127.0.0.1:9092;
`make broker`) and, for the Redis sink, TICKCAST_REDIS_URL.

    .venv/bin/python bench/worker_throughput.py --ticks 100000 --symbols 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import TICKCAST, bare_core_rate, isolated_env
from kafka import KafkaConsumer

from tickcast.producers import synthetic_ticks
from tickcast.stream_processors.faust_app import STATE_TABLE


def forecast_span(bootstrap: str, topic: str, n: int, timeout: float) -> tuple[int, float]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    stamps: list[int] = []
    deadline = time.monotonic() + timeout
    while len(stamps) < n and time.monotonic() < deadline:
        stamps.extend(m.timestamp for m in consumer)
        print(f"\r{len(stamps)}/{n} forecasts", end="", file=sys.stderr)
    print(file=sys.stderr)
    consumer.close()
    return len(stamps), (max(stamps) - min(stamps)) / 1000 if stamps else 0.0


def changelog_bytes(bootstrap: str, topic: str) -> tuple[int, int]:
    """Records and value bytes the worker wrote to its state changelog."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
    )
    records = size = 0
    for message in consumer:
        records += 1
        size += len(message.value or b"")
    consumer.close()
    return records, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tickcast-bench-"))
    env = isolated_env("bench", tmp)
    bootstrap = env["TICKCAST_KAFKA_BOOTSTRAP"]
    produced = subprocess.run(
        [TICKCAST, "produce", "--synthetic", str(args.ticks), "--symbols", str(args.symbols)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    publish = json.loads(produced.stdout)
    print(
        json.dumps(
            {"figure": "producer_ticks_per_s", "value": publish["ticks_per_s"], "ticks": args.ticks}
        )
    )
    log = (tmp / "worker.log").open("w")
    worker = subprocess.Popen([TICKCAST, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        count, seconds = forecast_span(bootstrap, env["TICKCAST_FORECASTS_TOPIC"], args.ticks, 600)
    finally:
        worker.terminate()
        worker.wait(60)
    states, state_bytes = changelog_bytes(
        bootstrap, f"{env['TICKCAST_APP_ID']}-{STATE_TABLE}-changelog"
    )
    reference = bare_core_rate(list(synthetic_ticks(args.ticks, args.symbols)))
    noop = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("faust_noop.py")),
            env["TICKCAST_TICKS_TOPIC"],
            str(args.ticks),
            bootstrap,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    line = noop.stdout.strip().splitlines()[-1]  # after the spinner's terminal codes
    faust_ceiling = json.loads(line[line.index("{") :])["per_s"]
    rate = count / seconds if seconds else 0.0
    print(
        json.dumps(
            {
                "figure": "worker_ticks_per_s",
                "value": round(rate),
                "ticks": count,
                "symbols": args.symbols,
                "sinks": "forecasts topic, clickhouse (chdb), "
                + ("redis" if os.environ.get("TICKCAST_REDIS_URL") else "in-process latest"),
                "reference_bare_core_ticks_per_s": round(reference),
                "ratio_to_bare_core": round(rate / reference, 3),
                "reference_noop_faust_agent_ticks_per_s": faust_ceiling,
                "ratio_to_noop_faust_agent": round(rate / faust_ceiling, 3),
                "changelog_records": states,
                "changelog_bytes_per_s": round(state_bytes / seconds),
                "changelog_bytes_per_tick": round(state_bytes / count, 1) if count else None,
            }
        )
    )


if __name__ == "__main__":
    main()
