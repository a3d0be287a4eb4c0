"""What an online network costs per tick: the core with the catalogue's networks beside the
default set, minus the default set alone, through the batch path the runtime uses (the
difference is the networks' forward pass, back-propagation and in-sample check). River's
scaled linear step, in the same run, is the reference.

    .venv/bin/python bench/mlp.py --ticks 50000 --symbols 10
"""

from __future__ import annotations

import argparse
import json

from core import core_batch_us, river_step_us

from tickcast.online_model import CoreConfig, resolve_models
from tickcast.online_model.model_specs import DEFAULT_MODELS
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=50_000)
    parser.add_argument("--symbols", type=int, default=10)
    args = parser.parse_args()
    ticks = [parse_tick(r) for r in synthetic_ticks(args.ticks, args.symbols)]
    base = CoreConfig()
    river = river_step_us()
    without, _ = core_batch_us(ticks, base)
    for name in ("mlp", "mlp_direction"):
        models = resolve_models([m.name for m in DEFAULT_MODELS] + [name])
        spec = dict(models[-1].params)
        with_it, _ = core_batch_us(ticks, CoreConfig(models=models))
        print(
            json.dumps(
                {
                    "figure": "network_us_per_tick",
                    "model": name,
                    "hidden": list(spec["hidden"]),
                    "activation": spec["activation"],
                    "value": round(with_it - without, 2),
                    "core_with_it_us": round(with_it, 2),
                    "core_without_us": round(without, 2),
                    "reference_river_linear_step_us": round(river, 2),
                    "ratio_to_river": round((with_it - without) / river, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
