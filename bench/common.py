"""What the benchmarks share: the bare core loop (every figure's reference) and the
environment of a worker on topics, a consumer group and stores of its own."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests' helpers

from tests.isolated import isolated_env as tests_isolated_env
from tickcast._core import Batch, step_batch
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.records import parse_tick

TICKCAST = str(Path(sys.executable).with_name("tickcast"))
BATCH = 5_000  # ticks per core call in the reference loop


def bare_core_rate(records: list[Any], config: CoreConfig | None = None) -> float:
    """Ticks/s of validating ``records`` (dicts) and stepping them with the default models
    through the core's batch path, outputs into its columns, no I/O: what every runner adds
    its shell to."""
    config = config or CoreConfig()
    states: dict[str, SymbolState] = {}
    start = time.perf_counter()
    for at in range(0, len(records), BATCH):
        ticks = [parse_tick(record) for record in records[at : at + BATCH]]
        cores = []
        for tick in ticks:
            state = states.get(tick.symbol)
            if state is None:
                state = states[tick.symbol] = SymbolState(tick.symbol, config)
            cores.append(state.core)
        step_batch(cores, ticks, Batch(messages=False))
    return len(records) / (time.perf_counter() - start)


def isolated_env(prefix: str, tmp: Path) -> dict[str, str]:
    """TICKCAST_* settings for a worker of its own (the tests' builder): fresh topics and
    group, stores in ``tmp``, the registry on (as by default), this process's settings kept."""
    bootstrap = os.environ.get("TICKCAST_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    env = tests_isolated_env(bootstrap, tmp, inherit=True, name=prefix)
    return env | {"TICKCAST_REDIS_PREFIX": f"{env['TICKCAST_APP_ID']}:"}  # keys of its own
