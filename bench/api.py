"""API requests/s and latency of GET /forecasts/{symbol} backed by Redis, one uvicorn worker,
32 connections from wrk (a separate process); reference: the app's bare GET /health in the same
run. Prints JSON lines. Needs wrk (Debian's package) and TICKCAST_REDIS_URL.

    .venv/bin/python bench/api.py --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tickcast.records import Forecast
from tickcast.stores import RedisLatestStore

TICKCAST = str(Path(sys.executable).with_name("tickcast"))


def wrk(url: str, seconds: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": round(rate),
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    url = os.environ["TICKCAST_REDIS_URL"]
    RedisLatestStore(url).put_many(
        Forecast(
            f"BENCH{i}",
            1_700_000_000_000,
            0,
            1,
            "served",
            "v1",
            "linear",
            100.0,
            0.001,
            100.1,
            99.0,
            101.0,
            0.9,
            0.55,
        )
        for i in range(10)
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tmp = Path(tempfile.mkdtemp(prefix="tickcast-api-bench-"))
    env = {
        **os.environ,
        "TICKCAST_CLICKHOUSE_URL": f"chdb://{tmp / 'olap'}",
        "TICKCAST_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [TICKCAST, "api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/forecasts/BENCH0", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        forecast = wrk(f"{base}/forecasts/BENCH0", args.seconds)
        bare = wrk(f"{base}/health", args.seconds)
    finally:
        server.terminate()
        server.wait(30)
    ratio = round(forecast["requests_per_s"] / bare["requests_per_s"], 3)
    print(
        json.dumps(
            {
                "figure": "api_forecast_requests",
                **forecast,
                "connections": 32,
                "reference_bare_endpoint": bare,
                "ratio_to_bare": ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
