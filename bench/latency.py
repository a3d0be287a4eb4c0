"""End-to-end latency at a steady rate: from the producer's send to the forecast's publish on
Redis (the write the API and the live page see), through one `tickcast worker`.

The bench publishes ``--rate`` ticks/s for ``--warmup`` seconds (not measured: the worker's
first batch opens its producer and its symbols' states) and then for ``--seconds``, and listens
on the Redis channel; each published forecast is matched to its tick's send time. A tick whose
forecast was overwritten before the write is not counted: the figure is what readers see.
The worker's log gives its event loop's longest stall once it caught up (at stop). References
from the same run: the same round trip for a bare Redis publish, and the delay from send to
delivery for the same paced ticks through a no-op Faust agent (Faust's floor). Prints JSON
lines.
Needs a broker and TICKCAST_REDIS_URL (`make bench` provides both).

    .venv/bin/python bench/latency.py --rate 1000 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import redis
from common import TICKCAST, isolated_env

from tickcast.config import KafkaAuth
from tickcast.producers import synthetic_ticks
from tickcast.producers.kafka_publisher import TickPublisher, ensure_topics
from tickcast.stores.latest import RedisLatestStore

NOOP_START_S = 5.0


def listen(
    url: str, channel: str, seen: dict[tuple[str, int], float], stop: threading.Event
) -> None:
    pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    while not stop.is_set():
        message = pubsub.get_message(timeout=0.1)
        if message:
            forecast = orjson.loads(message["data"])
            seen[(forecast["symbol"], forecast["ts"])] = time.time()
    pubsub.close()


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.5) * 1000, 1),
        "p99_ms": round(pick(0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "n": len(ordered),
    }


def bare_publish_latency(url: str, channel: str, n: int = 2000) -> dict[str, float]:
    client, seen, stop = redis.Redis.from_url(url), {}, threading.Event()
    listener = threading.Thread(target=listen, args=(url, channel, seen, stop), daemon=True)
    listener.start()
    time.sleep(0.5)
    sent = {}
    for i in range(n):
        sent[("BARE", i)] = time.time()
        client.publish(channel, orjson.dumps({"symbol": "BARE", "ts": i}))
        time.sleep(0.001)
    time.sleep(0.5)
    stop.set()
    return percentiles([seen[k] - t for k, t in sent.items() if k in seen])


def publish_paced(
    env: dict[str, str], rate: int, warmup: int, total: int, symbols: int
) -> dict[tuple[str, int], float]:
    """Publish ``total`` synthetic ticks at ``rate``/s; the send times of those after ``warmup``."""
    publisher = TickPublisher(
        KafkaAuth(env["TICKCAST_KAFKA_BOOTSTRAP"]),
        env["TICKCAST_TICKS_TOPIC"],
        env["TICKCAST_DLQ_TOPIC"],
    )
    sent: dict[tuple[str, int], float] = {}
    start = time.monotonic()
    for i, record in enumerate(synthetic_ticks(total, symbols)):
        if (pause := start + i / rate - time.monotonic()) > 0:
            time.sleep(pause)
        if i >= warmup:
            sent[(record["symbol"], record["ts"])] = time.time()
        publisher.publish(record)
    publisher.close()
    return sent


def noop_delivery_latency(args: argparse.Namespace, warmup: int, total: int) -> dict[str, Any]:
    """The same paced ticks through a no-op Faust agent: its delivery delays (Faust's floor)."""
    env = isolated_env("latency-noop", Path(tempfile.mkdtemp(prefix="tickcast-latency-")))
    topic = env["TICKCAST_TICKS_TOPIC"]
    ensure_topics(
        KafkaAuth(env["TICKCAST_KAFKA_BOOTSTRAP"]), {topic: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    )
    noop = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("faust_noop.py")),
            topic,
            str(total),
            env["TICKCAST_KAFKA_BOOTSTRAP"],
        ],
        env={**env, "NOOP_LATENCY_AFTER": str(warmup)},
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(NOOP_START_S)  # its consumer joins and reads from the earliest offset anyway
    publish_paced(env, args.rate, warmup, total, args.symbols)
    out, _ = noop.communicate(timeout=120)
    line = out.strip().splitlines()[-1]
    figures = json.loads(line[line.index("{") :])
    return {"p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds published first, not measured"
    )
    args = parser.parse_args()
    url = os.environ["TICKCAST_REDIS_URL"]
    tmp = Path(tempfile.mkdtemp(prefix="tickcast-latency-"))
    env = isolated_env("latency", tmp)
    bootstrap = env["TICKCAST_KAFKA_BOOTSTRAP"]
    channel = RedisLatestStore(url, env["TICKCAST_REDIS_PREFIX"]).channel
    ensure_topics(
        KafkaAuth(bootstrap), {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    )
    log = tmp / "worker.log"
    worker = subprocess.Popen(
        [TICKCAST, "worker"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    seen: dict[tuple[str, int], float] = {}
    stop = threading.Event()
    warmup = int(args.rate * args.warmup)
    total = warmup + int(args.rate * args.seconds)
    try:
        while "champions of" not in log.read_text():  # assigned, and the registry answered
            time.sleep(0.2)
        listener = threading.Thread(target=listen, args=(url, channel, seen, stop), daemon=True)
        listener.start()
        sent = publish_paced(env, args.rate, warmup, total, args.symbols)
        time.sleep(3)
    finally:
        stop.set()
        worker.terminate()
        worker.wait(60)
    delays = [seen[k] - t for k, t in sent.items() if k in seen]
    stall = re.search(r"longest stall ([0-9.]+) ms", log.read_text())
    print(
        json.dumps(
            {
                "figure": "end_to_end_latency",
                "rate": args.rate,
                "ticks": len(sent),
                "warmup_s": args.warmup,
                "flush_interval_s": float(env.get("TICKCAST_FLUSH_INTERVAL_S", 0.5)),
                **percentiles(delays),
                "event_loop_longest_stall_ms": float(stall[1]) if stall else None,
                "reference_bare_redis_publish": bare_publish_latency(url, channel),
                "reference_noop_faust_delivery": noop_delivery_latency(args, warmup, total),
            }
        )
    )


if __name__ == "__main__":
    main()
