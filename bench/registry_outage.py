"""Ticks/s of the embedded pipeline (Prometheus sink only, so the registry's cost shows) with
checkpoints on: no registry (the reference), a local SQLite MLflow store, and an MLflow server
that accepts connections and never answers.

Checkpoints are taken every ``--every`` learned ticks per symbol, far more often than the
default, so the registry's child has real work. After the stream ends, a reachable store is
given time to take every checkpoint (``drain_s`` says how long it took: the child's write rate
against a store of that size); a store that never answers gets half a second. Prints one JSON
line per case.

    .venv/bin/python bench/registry_outage.py --ticks 100000 --symbols 10 --every 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
from typing import Any

from tickcast import bootstrap
from tickcast.online_model import CoreConfig
from tickcast.online_model.checkpoints import CheckpointPolicy
from tickcast.producers import synthetic_ticks
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors import PrometheusObserver, run_embedded


def run(records: list[Any], uri: str | None, every: int, drain_s: float) -> dict[str, Any]:
    registry = BackgroundRegistry(uri, watch=False).start() if uri else None
    runtime = bootstrap.runtime(
        CoreConfig(),
        registry=registry,
        policy=CheckpointPolicy(every),
        observers=[PrometheusObserver()],
    )
    start = time.perf_counter()
    asyncio.run(run_embedded(records, runtime))
    seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "ticks_per_s": round(len(records) / seconds),
        "seconds": round(seconds, 2),
    }
    if registry is not None:
        result |= {"written_during_run": registry.stats.written}
        start = time.perf_counter()
        registry.close(timeout=drain_s)
        stats = registry.stats
        result |= {
            "written": stats.written,
            "drain_s": round(time.perf_counter() - start, 2),
            "not_written": registry.pending,
            "failures": stats.failures,
            "refused": stats.refused,
            "replaced": stats.replaced,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--every", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "600")
    records = list(synthetic_ticks(args.ticks, args.symbols))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    with tempfile.TemporaryDirectory() as folder:
        cases = {  # (address, how long the child may drain after the stream)
            "no registry": (None, 0.0),
            "local sqlite": (f"sqlite:///{folder}/mlflow.db", 300.0),
            "mlflow not answering": (f"http://127.0.0.1:{silent.getsockname()[1]}", 0.5),
        }
        # twice, interleaved: noise shows, and the second pass writes to a store that already
        # holds the first pass's versions
        for case, (uri, drain_s) in [*cases.items(), *cases.items()]:
            print(
                json.dumps(
                    {
                        "case": case,
                        "ticks": args.ticks,
                        "every": args.every,
                        **run(records, uri, args.every, drain_s),
                    }
                ),
                flush=True,
            )
    silent.close()


if __name__ == "__main__":
    main()
