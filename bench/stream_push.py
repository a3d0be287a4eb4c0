"""How soon a forecast written to Redis reaches a Server-Sent Events client of the API (the
live page's path): 200 forecasts written 20 ms apart by another connection, each one's delay
from its write to its event. Prints one JSON line. Needs TICKCAST_REDIS_URL.

    .venv/bin/python bench/stream_push.py
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import threading
import time
from dataclasses import replace

import httpx
import orjson
import uvicorn

from tickcast.api import Limits, Services, create_app
from tickcast.records import Forecast
from tickcast.stores import RedisLatestStore

N = 200
BASE = Forecast(
    "AAPL",
    1_700_000_000_000,
    0,
    1,
    "served",
    "f",
    "linear",
    100.0,
    0.0,
    100.0,
    99.0,
    101.0,
    0.9,
    0.5,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    url = os.environ["TICKCAST_REDIS_URL"]
    store, writer = RedisLatestStore(url), RedisLatestStore(url)
    port = free_port()
    config = uvicorn.Config(
        create_app(Services(store, None, limits=Limits())), port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    symbol = f"PUSH{secrets.token_hex(4).upper()}"  # this run's own: the store may hold others'
    arrived: dict[int, float] = {}  # the forecast's number: when its event came
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"http://127.0.0.1:{port}/stream", timeout=None) as response:
            for line in response.iter_lines():
                if line.startswith("retry:"):
                    connected.set()
                elif line.startswith("data: "):
                    event = orjson.loads(line[6:])
                    if event["symbol"] == symbol:
                        arrived[int(event["price"]) - 1000] = time.monotonic()
                if len(arrived) >= N:
                    return

    threading.Thread(target=listen, daemon=True).start()
    connected.wait(10)
    while writer.client.pubsub_numsub(store.channel)[0][1] == 0:
        time.sleep(0.05)
    written = []
    for i in range(N):
        written.append(time.monotonic())
        forecast = replace(BASE, symbol=symbol, ts=BASE.ts + (i + 1) * 1000, price=1000.0 + i)
        writer.put_many([forecast])
        time.sleep(0.02)
    deadline = time.monotonic() + 10
    while len(arrived) < N and time.monotonic() < deadline:
        time.sleep(0.05)
    server.should_exit = True
    if len(arrived) < N:
        raise SystemExit(f"stream_push: {len(arrived)} of {N} forecasts reached the stream")
    delays = sorted((arrived[i] - written[i]) * 1000 for i in range(N))
    print(
        json.dumps(
            {
                "figure": "stream_push_delay",
                "forecasts": N,
                "received": len(arrived),
                "p50_ms": round(statistics.median(delays), 2),
                "p99_ms": round(delays[int(0.99 * (len(delays) - 1))], 2),
                "max_ms": round(delays[-1], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
