"""A seeded synthetic tick source: many symbols, volatility regimes, jumps, a weak AR(1) drift.

Same seed, same prices. Regimes switch by a Markov chain between calm and turbulent volatility,
jumps arrive at random, and returns carry a small autocorrelation ``ar`` so that a learner has
something real (if faint) to find. ``regime_every`` plants a shift that a drift detector should
see: every this many steps of a symbol, four times the volatility and the autocorrelation
reversed, switched on and off (the compose stack's producer uses it, so its drift dashboard
has something to show).

Two clocks: :func:`synthetic_ticks` stamps ticks on a fixed grid from ``start_ms`` (history,
repeatable); :func:`live_ticks` stamps each tick with the wall clock as it makes it, paced at a
rate, for as long as it runs (the compose stack's producer): a restart goes on from now
instead of republishing old event times, and memory stays flat.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

__all__ = ["SyntheticMarket", "live_ticks", "synthetic_ticks"]

START_MS = 1_704_099_600_000  # 2024-01-01T09:00:00Z


class SyntheticMarket:
    """The price process of a set of symbols; :meth:`move` draws the next tick of one."""

    def __init__(
        self,
        symbols: int | list[str] = 10,
        *,
        seed: int = 7,
        vol: float = 0.001,
        ar: float = 0.1,
        jump_prob: float = 0.002,
        regime_every: int | None = None,
    ) -> None:
        if regime_every is not None and regime_every < 1:
            raise ValueError(f"regime_every must be at least 1 step, got {regime_every}")
        names = symbols if isinstance(symbols, list) else [f"SYN{i:03d}" for i in range(symbols)]
        if not names:
            raise ValueError("at least one symbol is needed")
        self.names = names
        self.vol = vol
        self.ar = ar
        self.jump_prob = jump_prob
        self.regime_every = regime_every
        self.rng = random.Random(seed)
        self.prices = [self.rng.uniform(20.0, 500.0) for _ in names]
        self.last = [0.0] * len(names)
        self.turbulent = [False] * len(names)

    def move(self, k: int, step: int) -> tuple[float, float]:
        """Symbol ``k``'s next (price, volume) at its ``step``-th tick."""
        rng = self.rng
        if rng.random() < (0.02 if self.turbulent[k] else 0.005):
            self.turbulent[k] = not self.turbulent[k]
        sigma = self.vol * (3.0 if self.turbulent[k] else 1.0)
        phi = self.ar
        if self.regime_every is not None and (step // self.regime_every) % 2 == 1:
            sigma *= 4.0
            phi = -self.ar
        r = phi * self.last[k] + rng.gauss(0.0, sigma)
        if rng.random() < self.jump_prob:
            r += rng.choice((-1.0, 1.0)) * rng.uniform(5.0, 10.0) * sigma
        self.last[k] = r
        self.prices[k] *= math.exp(r)
        return round(self.prices[k], 4), float(rng.randint(100, 10_000))


def garch_returns(
    n: int, seed: int, omega: float = 2e-6, a: float = 0.08, b: float = 0.9, nu: float = 5.0
) -> tuple[list[float], list[float]]:
    """``n`` returns of a GARCH(1,1) with standardised Student-t errors (``nu`` degrees of
    freedom), and each return's conditional standard deviation: a series whose true
    conditional quantiles are known, to check intervals against.

    >>> returns, sigmas = garch_returns(3, seed=1)
    >>> len(returns), round(sigmas[0], 6) == round(math.sqrt(2e-6 / 0.02), 6)
    (3, True)
    """
    rng = random.Random(seed)
    scale = math.sqrt((nu - 2) / nu)
    var = omega / (1 - a - b)
    returns, sigmas = [], []
    for _ in range(n):
        sigma = math.sqrt(var)
        t = rng.gauss(0, 1) / math.sqrt(rng.gammavariate(nu / 2, 2) / nu)  # Student-t draw
        r = sigma * t * scale
        returns.append(r)
        sigmas.append(sigma)
        var = omega + a * r * r + b * var
    return returns, sigmas


def synthetic_ticks(
    n: int,
    symbols: int | list[str] = 10,
    *,
    seed: int = 7,
    step_ms: int = 1_000,
    start_ms: int = START_MS,
    **market: Any,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` raw tick records, one per symbol per step, in event-time order.

    >>> ticks = list(synthetic_ticks(4, symbols=2, seed=1))
    >>> [t["symbol"] for t in ticks], ticks[2]["ts"] - ticks[0]["ts"]
    (['SYN000', 'SYN001', 'SYN000', 'SYN001'], 1000)
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    prices = SyntheticMarket(symbols, seed=seed, **market)
    names = prices.names
    for i in range(n):
        k, step = i % len(names), i // len(names)
        price, volume = prices.move(k, step)
        yield {
            "symbol": names[k],
            "ts": start_ms + step * step_ms,
            "price": price,
            "volume": volume,
        }


async def live_ticks(
    symbols: int | list[str] = 10,
    *,
    rate: float = 20.0,
    n: int = 0,
    seed: int = 7,
    clock: Callable[[], float] = time.time,
    **market: Any,
) -> AsyncIterator[dict[str, Any]]:
    """Ticks stamped with ``clock`` (epoch seconds) as they are made, ``rate`` per second over
    all symbols in turn, ``n`` of them (0: until stopped). Two ticks of a symbol in the same
    millisecond are numbered by ``seq``."""
    if not rate > 0 or not math.isfinite(rate):
        raise ValueError(f"rate must be a positive number of ticks per second, got {rate}")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    prices = SyntheticMarket(symbols, seed=seed, **market)
    names = prices.names
    last: list[tuple[int, int]] = [(0, 0)] * len(names)  # (ts, seq) per symbol
    start = time.monotonic()
    i = 0
    while not n or i < n:
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif i % 100 == 0:
            await asyncio.sleep(0)  # behind the rate: catch up, but let the loop run
        k, step = i % len(names), i // len(names)
        price, volume = prices.move(k, step)
        ts = int(clock() * 1000)
        seq = last[k][1] + 1 if ts <= last[k][0] else 0
        ts = max(ts, last[k][0])
        last[k] = (ts, seq)
        yield {"symbol": names[k], "ts": ts, "seq": seq, "price": price, "volume": volume}
        i += 1
