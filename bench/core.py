"""The core's cost per tick against one River linear step, measured in the same run, and the
size of a symbol's encoded state.

- River's ``StandardScaler() | LinearRegression()``, ``predict_one`` + ``learn_one`` on 16
  features: the reference one linear step costs;
- the core: features, the default model set, intervals, metrics and drift per tick, through
  the batch path the runtime uses (``step_batch``, outputs into the batch's columns), on parsed
  ticks; also the same with the messages' decode (JSON to ticks) and through the per-tick
  record API that tests use;
- the encoded state per symbol after the run (what the changelog and the registry store).

Prints JSON lines.

    .venv/bin/python bench/core.py --ticks 100000 --symbols 10
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

from tickcast._core import Batch, step_batch
from tickcast.codecs import StateCodec
from tickcast.messages import decode_tick, dumps
from tickcast.online_model import CoreConfig, SymbolState, SymbolStates
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick

REPEATS = 3  # the best of three: the machine is shared, the minimum is the cost


def river_step_us(n: int = 30_000, features: int = 16) -> float:
    """Microseconds per predict_one + learn_one of River's scaled linear regression."""
    from river import linear_model, preprocessing

    rng = random.Random(1)
    rows = [
        ({f"x{j}": rng.gauss(0, 1) for j in range(features)}, rng.gauss(0, 1)) for _ in range(n)
    ]
    best = float("inf")
    for _ in range(REPEATS):
        model = preprocessing.StandardScaler() | linear_model.LinearRegression()
        start = time.perf_counter()
        for x, y in rows:
            model.predict_one(x)
            model.learn_one(x, y)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def core_batch_us(ticks: list[Any], config: CoreConfig) -> tuple[float, list[SymbolState]]:
    """Microseconds per tick of the batch path; the states of the last repeat."""
    best, states = float("inf"), []
    for _ in range(REPEATS):
        by_symbol = {t.symbol: SymbolState(t.symbol, config) for t in ticks}
        cores = [by_symbol[t.symbol].core for t in ticks]
        start = time.perf_counter()
        for at in range(0, len(ticks), 5000):  # the runtime takes its batch every 5,000
            batch = Batch()
            step_batch(cores[at : at + 5000], ticks[at : at + 5000], batch)
        best = min(best, (time.perf_counter() - start) / len(ticks) * 1e6)
        states = list(by_symbol.values())
    return best, states


def decode_us(messages: list[bytes]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for message in messages:
            decode_tick(message)
        best = min(best, (time.perf_counter() - start) / len(messages) * 1e6)
    return best


def record_api_us(ticks: list[Any], config: CoreConfig) -> float:
    states = SymbolStates(config)
    start = time.perf_counter()
    for tick in ticks:
        states.step(tick)
    return (time.perf_counter() - start) / len(ticks) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=100_000)
    parser.add_argument("--symbols", type=int, default=10)
    args = parser.parse_args()
    config = CoreConfig()
    records = list(synthetic_ticks(args.ticks, args.symbols))
    ticks = [parse_tick(r) for r in records]
    messages = [dumps(r) for r in records]
    river = river_step_us()
    core, states = core_batch_us(ticks, config)
    decode = decode_us(messages)
    print(
        json.dumps(
            {
                "figure": "core_us_per_tick",
                "value": round(core, 2),
                "ticks": args.ticks,
                "symbols": args.symbols,
                "models": [m.name for m in config.models],
                "path": "step_batch on parsed ticks (features, models, intervals, metrics, drift)",
                "with_json_decode_us": round(core + decode, 2),
                "json_decode_us": round(decode, 2),
                "record_api_us": round(record_api_us(ticks[:20_000], config), 2),
                "reference_river_linear_step_us": round(river, 2),
                "ratio_to_river": round(core / river, 3),
            }
        )
    )
    codec = StateCodec.ephemeral()
    sizes = [len(codec.encode(state)) for state in states]
    print(
        json.dumps(
            {
                "figure": "state_bytes_per_symbol",
                "value": max(sizes),
                "mean": round(statistics.mean(sizes)),
                "symbols": len(sizes),
                "after_ticks_per_symbol": args.ticks // args.symbols,
                "codec": "TKST header, HMAC-SHA256, LZ4 of the compiled state (tickcast.codecs)",
            }
        )
    )


if __name__ == "__main__":
    main()
