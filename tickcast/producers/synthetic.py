"""A seeded synthetic tick source: many symbols, volatility regimes, jumps, a weak AR(1) drift.

Same seed, same ticks. Regimes switch by a Markov chain between calm and turbulent volatility,
jumps arrive at random, and returns carry a small autocorrelation ``ar`` so that a learner has
something real (if faint) to find. The ``regime_change_at`` option plants one permanent shift
for drift tests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

__all__ = ["synthetic_ticks"]

START_MS = 1_704_099_600_000  # 2024-01-01T09:00:00Z


def synthetic_ticks(
    n: int,
    symbols: int | list[str] = 10,
    *,
    seed: int = 7,
    step_ms: int = 1_000,
    start_ms: int = START_MS,
    vol: float = 0.001,
    ar: float = 0.1,
    jump_prob: float = 0.002,
    regime_change_at: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` raw tick records, one per symbol per step, in event-time order.

    >>> ticks = list(synthetic_ticks(4, symbols=2, seed=1))
    >>> [t["symbol"] for t in ticks], ticks[2]["ts"] - ticks[0]["ts"]
    (['SYN000', 'SYN001', 'SYN000', 'SYN001'], 1000)
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    names = symbols if isinstance(symbols, list) else [f"SYN{i:03d}" for i in range(symbols)]
    if not names:
        raise ValueError("at least one symbol is needed")
    rng = random.Random(seed)
    prices = [rng.uniform(20.0, 500.0) for _ in names]
    last = [0.0] * len(names)
    turbulent = [False] * len(names)
    for i in range(n):
        k = i % len(names)
        step = i // len(names)
        if rng.random() < (0.02 if turbulent[k] else 0.005):
            turbulent[k] = not turbulent[k]
        sigma = vol * (3.0 if turbulent[k] else 1.0)
        phi = ar
        if regime_change_at is not None and step >= regime_change_at:
            sigma *= 4.0
            phi = -ar
        r = phi * last[k] + rng.gauss(0.0, sigma)
        if rng.random() < jump_prob:
            r += rng.choice((-1.0, 1.0)) * rng.uniform(5.0, 10.0) * sigma
        last[k] = r
        prices[k] *= math.exp(r)
        yield {
            "symbol": names[k],
            "ts": start_ms + step * step_ms,
            "price": round(prices[k], 4),
            "volume": float(rng.randint(100, 10_000)),
        }
