"""Where the core's hot path spends its time: py-spy samples the bare core loop (features, the
default models, intervals, metrics) and this prints the top functions by own time and by total
time as JSON lines.

    .venv/bin/python bench/profile_core.py --ticks 50000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

LOOP = """
from tickcast.online_model import CoreConfig, SymbolStates
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick
ticks = [parse_tick(r) for r in synthetic_ticks({n}, 10)]
states = SymbolStates(CoreConfig())
for tick in ticks:
    states.step(tick)
"""


def _name(frame: str) -> str:
    """``function (path/to/file.py:line)`` -> ``function (file.py)``."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rsplit('/', 1)[-1].split(':')[0]})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    py_spy = Path(sys.executable).with_name("py-spy")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "stacks.txt"
        loop = [sys.executable, "-c", LOOP.format(n=args.ticks)]
        options = ["--rate", "250", "--function", "--format", "raw", "--output", str(out)]
        command = [str(py_spy), "record", *options, "--", *loop]
        subprocess.run(command, check=True, capture_output=True)
        own: Counter[str] = Counter()
        total: Counter[str] = Counter()
        samples = 0
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = [_name(frame) for frame in stack.split(";")]
            if not any("SymbolState.step" in f for f in frames):
                continue  # imports and data generation, not the hot path
            n = int(count)
            samples += n
            own[frames[-1]] += n
            for frame in set(frames):
                total[frame] += n
    for kind, counter in (("own", own), ("total", total)):
        for function, n in counter.most_common(args.top):
            print(json.dumps({"figure": f"profile_{kind}_time", "function": function,
                              "share": round(n / samples, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
