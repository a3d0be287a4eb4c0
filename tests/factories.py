"""Small data factories: files in the formats users bring, generated, never committed."""

from __future__ import annotations

import asyncio
import csv
import math
import random
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import CODEC
from tickcast import bootstrap
from tickcast.online_model import CoreConfig
from tickcast.records import Forecast, Tick
from tickcast.stores import LatestStore
from tickcast.stream_processors import Pipeline, PrometheusObserver, Runtime, Sink, run_embedded
from tickcast.stream_processors.pipeline import Message, Verdict


def business_days(n: int, start: date = date(2021, 1, 4)) -> list[date]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def write_yfinance_csv(
    path: Path, n: int = 300, seed: int = 1, price: float = 100.0, start: date = date(2021, 1, 4)
) -> Path:
    """A daily CSV as `yfinance.download(...).to_csv()` wrote it before multi-level headers;
    ``n`` business days from ``start`` (7,800 from 1995 is a 30-year history)."""
    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
        for day in business_days(n, start):
            open_ = price
            price *= math.exp(rng.gauss(0.0003, 0.015))
            high, low = max(open_, price) * 1.004, min(open_, price) * 0.996
            row = [
                day.isoformat(),
                open_,
                high,
                low,
                price,
                price * 0.98,
                rng.randint(10**6, 10**7),
            ]
            out.writerow([f"{v:.4f}" if isinstance(v, float) else v for v in row])
    return path


def write_yfinance_multiheader_csv(path: Path, symbol: str, n: int = 50, seed: int = 2) -> Path:
    """The two extra header rows that recent `yfinance.download(...).to_csv()` writes."""
    rng = random.Random(seed)
    price = 50.0
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["Price", "Close", "High", "Low", "Open", "Volume"])
        out.writerow(["Ticker", symbol, symbol, symbol, symbol, symbol])
        out.writerow(["Date", "", "", "", "", ""])
        for day in business_days(n):
            price *= math.exp(rng.gauss(0, 0.01))
            out.writerow([day.isoformat(), price, price * 1.01, price * 0.99, price, 1000])
    return path


def write_long_csv(path: Path, symbols: list[str], n: int = 200, seed: int = 3) -> Path:
    rng = random.Random(seed)
    prices = dict.fromkeys(symbols, 100.0)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["symbol", "ts", "price", "volume"])
        for i in range(n):
            for symbol in symbols:
                prices[symbol] *= math.exp(rng.gauss(0, 0.001))
                ts = f"2024-03-01T14:{i // 60:02d}:{i % 60:02d}Z"
                out.writerow([symbol, ts, f"{prices[symbol]:.4f}", rng.randint(1, 500)])
    return path


START = 1_700_000_000_000  # epoch ms of regime_ticks' first tick


WIDTH = len(CoreConfig().feature_names)  # of the default core's feature vector


def linear_samples(
    n: int, seed: int = 3, intercept: float = 0.0
) -> list[tuple[list[float], float]]:
    """(standardised features z, target u) with u linear in two of the features plus noise:
    a fixed stream for the models' and optimizers' checks."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        z = [rng.gauss(0, 1) for _ in range(WIDTH)]
        out.append((z, 0.8 * z[0] - 0.5 * z[1] + intercept + rng.gauss(0, 0.3)))
    return out


def regime_ticks(n: int, change_at: int | None = None, after_vol: float = 0.03) -> list[Tick]:
    """One-second ticks of symbol X: a random walk with 1 % volatility that jumps to
    ``after_vol`` at tick ``change_at`` (a planted regime change)."""
    rng, price, ticks = random.Random(5), 100.0, []
    for i in range(n):
        vol = 0.01 if change_at is None or i < change_at else after_vol
        price *= math.exp(rng.gauss(0.0, vol))
        ticks.append(Tick("X", START + i * 1000, price))
    return ticks


def make_forecast(symbol: str = "AAPL", ts: int = START, **fields: object) -> Forecast:
    """A served forecast with plausible numbers; ``fields`` override any of them."""
    values: dict[str, object] = {
        "symbol": symbol,
        "ts": ts,
        "seq": 0,
        "horizon": 1,
        "model": "served",
        "model_fingerprint": "v1",
        "based_on": "linear",
        "price": 100.0,
        "predicted_return": 0.001,
        "predicted_price": 100.1,
        "lower": 99.0,
        "upper": 101.0,
        "level": 0.9,
        "p_up": 0.55,
    }
    values.update(fields)
    return Forecast(**values)  # type: ignore[arg-type]


def replay(
    records: Iterable[Any],
    *sinks: Sink,
    config: CoreConfig | None = None,
    latest: LatestStore | None = None,
    flush_interval_s: float = 0.5,
    flush_max_rows: int = 5_000,
    **pipeline: Any,
) -> Pipeline:
    """``records`` through the embedded runner on the composition root's runtime, watched by
    Prometheus as a replay is (``pipeline``: the rest of its options; states signed by the
    tests' key); returns the pipeline, for its states and counts."""
    pipeline.setdefault("codec", CODEC)
    pipeline.setdefault("observers", [PrometheusObserver()])
    runtime = bootstrap.runtime(
        config or CoreConfig(),
        sinks,
        latest=latest,
        flush_interval_s=flush_interval_s,
        flush_max_rows=flush_max_rows,
        **pipeline,
    )
    asyncio.run(run_embedded(records, runtime))
    return runtime.pipeline


def verdicts(runtime: Runtime, messages: list[Message]) -> list[Verdict]:
    """The runtime's verdict on each message ("ok", "duplicate", "late", "invalid")."""
    return runtime.process(messages).per_message()
