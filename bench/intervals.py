"""Do the served intervals hold in calm and in storm? Coverage by volatility tercile and the
interval score (Winkler) against plain rolling conformal and GARCH(1,1) with Student-t errors.

Data: the bundled sample (ten daily S&P 500 stocks), and generated GARCH(1,1)-t series whose
conditional quantiles are known (their own oracle interval is shown beside). Terciles are of
each series' trailing 20-day volatility at the time of the forecast (known in advance).
References, on the same days:
- plain rolling conformal: +-(the 90 % quantile of |return| over the last 250 days);
- pooled_ewma and future_vol (see ``ceilings``): a market factor across the series, and the
  unattainable ceiling of knowing the coming days' volatility;
- GARCH(1,1)-t (the ``arch`` package), refitted every ``--refit`` days on the data so far and
  filtered day by day in between (the reference only: never in the hot path).
One JSON line per data set; ``--table`` prints it readably.

    .venv/bin/python bench/intervals.py --table
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from tickcast.analysis.backtest import run_backtest
from tickcast.online_model import SERVED, CoreConfig
from tickcast.producers import sample_records
from tickcast.producers.synthetic import garch_returns
from tickcast.stream_processors import MemorySink

LEVEL = 0.9
ALPHA = 1 - LEVEL
WARMUP = 250  # days before any method is scored (plain conformal's window)
GOAL_COVERAGE = (0.87, 0.93)
GOAL_VS_PLAIN = 0.92
DAY_MS = 86_400_000


def garch_series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    returns, sigmas = garch_returns(n, seed)
    return np.asarray(returns), np.asarray(sigmas)


def records_of(symbol: str, returns: np.ndarray, start_ms: int = 946_684_800_000) -> list[dict]:
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    return [
        {"symbol": symbol, "ts": start_ms + i * DAY_MS, "price": float(p)}
        for i, p in enumerate(prices)
    ]


def served_intervals(records: list[dict], config: CoreConfig) -> pd.DataFrame:
    """The served forecast's interval for each day's next return, from the whole core."""
    memory = MemorySink()
    run_backtest(records, config, sinks=[memory])
    frame = pd.DataFrame(memory.outcomes)
    frame = frame[frame.model == SERVED].sort_values(["symbol", "ts"])
    return frame[["symbol", "ts", "lower_return", "upper_return", "realised_return"]]


def plain_conformal(returns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = np.full(len(returns), np.nan)
    for t in range(WARMUP, len(returns)):
        half[t] = np.quantile(np.abs(returns[t - WARMUP : t]), LEVEL)
    return -half, half


def scaled_conformal(returns: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """+-(the 90 % quantile of |return| / scale over the last 250 days) x today's scale."""
    half = np.full(len(returns), np.nan)
    for t in range(WARMUP, len(returns)):
        past = np.abs(returns[t - WARMUP : t]) / scale[t - WARMUP : t]
        half[t] = np.quantile(past, LEVEL) * scale[t]
    return -half, half


def ewma_variance(returns: np.ndarray, decay: float = 0.94) -> np.ndarray:
    """Each day's EWMA of the squared returns before it (known in advance)."""
    variance = np.empty(len(returns))
    variance[0] = np.mean(returns[:20] ** 2)
    for t in range(1, len(returns)):
        variance[t] = decay * variance[t - 1] + (1 - decay) * returns[t - 1] ** 2
    return variance


def ceilings(data: dict[str, np.ndarray]) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Two references beyond one series' own past closes, to show what a goal would need:
    - pooled_ewma: the scale of every series' EWMA variance averaged on the day (a market
      factor; it needs state across symbols);
    - future_vol: the realised volatility of the 11 days centred on the day itself, which no
      forecast can know: a ceiling for what a better scale could buy."""
    pooled = np.sqrt(np.mean([ewma_variance(y) for y in data.values()], axis=0))
    window = np.ones(11) / 11
    return {
        symbol: {
            "pooled_ewma": scaled_conformal(y, pooled),
            "future_vol": scaled_conformal(
                y, np.sqrt(np.convolve(y**2, window, mode="same")) + 1e-9
            ),
        }
        for symbol, y in data.items()
    }


def garch_t(returns: np.ndarray, refit: int) -> tuple[np.ndarray, np.ndarray]:
    """GARCH(1,1)-t intervals for each day's return from the days before it."""
    from arch import arch_model

    lower, upper = np.full(len(returns), np.nan), np.full(len(returns), np.nan)
    scaled = returns * 100  # arch's optimiser prefers percent returns
    params = None
    var = float(np.var(scaled[:WARMUP]))
    for t in range(WARMUP, len(returns)):
        if params is None or (t - WARMUP) % refit == 0:
            fit = arch_model(scaled[:t], mean="Constant", vol="GARCH", p=1, q=1, dist="t")
            result = fit.fit(disp="off", show_warning=False)
            params = result.params
            var = float(result.conditional_volatility[-1] ** 2)
            eps = scaled[t - 1] - params["mu"]
            var = params["omega"] + params["alpha[1]"] * eps * eps + params["beta[1]"] * var
        nu = params["nu"]
        q = stats.t.ppf(1 - ALPHA / 2, nu) * math.sqrt((nu - 2) / nu)
        half = q * math.sqrt(var)
        lower[t], upper[t] = (params["mu"] - half) / 100, (params["mu"] + half) / 100
        eps = scaled[t] - params["mu"]
        var = params["omega"] + params["alpha[1]"] * eps * eps + params["beta[1]"] * var
    return lower, upper


def winkler(lower: np.ndarray, upper: np.ndarray, y: np.ndarray) -> np.ndarray:
    miss = np.maximum(lower - y, 0) + np.maximum(y - upper, 0)
    return (upper - lower) + 2 / ALPHA * miss


def trailing_volatility(returns: np.ndarray, days: int = 20) -> np.ndarray:
    """At day t (forecasting return t), the standard deviation of returns t-20..t-1."""
    vol = pd.Series(returns).rolling(days).std().shift(1)
    return vol.to_numpy()


def evaluate(series: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Pooled coverage per tercile and interval scores of every method over the series."""
    rows = []
    for symbol, methods in series.items():
        y = methods.pop("y")
        vol = trailing_volatility(y)
        valid = np.arange(len(y)) >= WARMUP
        for lower, upper in methods.values():
            valid &= np.isfinite(lower) & np.isfinite(upper)
        valid &= np.isfinite(vol)
        terciles = pd.qcut(vol[valid], 3, labels=["calm", "middle", "storm"])
        for name, (lower, upper) in methods.items():
            lo, hi, yy = lower[valid], upper[valid], y[valid]
            rows.append(
                pd.DataFrame(
                    {
                        "symbol": symbol,
                        "method": name,
                        "tercile": terciles,
                        "inside": (lo <= yy) & (yy <= hi),
                        "winkler": winkler(lo, hi, yy),
                    }
                )
            )
    frame = pd.concat(rows, ignore_index=True)
    coverage = frame.groupby(["method", "tercile"], observed=True).inside.mean().unstack()
    scores = frame.groupby("method").winkler.mean()
    per_series = frame.groupby(["method", "symbol"]).winkler.mean().unstack("method")
    result: dict[str, Any] = {
        "days": int(len(frame) / frame.method.nunique()),
        "coverage": {m: coverage.loc[m].round(4).to_dict() for m in coverage.index},
        "coverage_all": frame.groupby("method").inside.mean().round(4).to_dict(),
        "winkler": scores.to_dict(),
    }
    for reference in ("plain_conformal", "garch_t"):
        result[f"vs_{reference}"] = (scores / scores[reference]).round(4).to_dict()
        worst = (per_series.div(per_series[reference], axis=0)).max()
        result[f"worst_series_vs_{reference}"] = worst.round(4).to_dict()
    return result


def verdict(result: dict[str, Any], method: str = "tickcast") -> dict[str, bool]:
    low, high = GOAL_COVERAGE
    terciles = result["coverage"][method].values()
    return {
        "coverage_in_every_tercile": all(low <= c <= high for c in terciles),
        "winkler_vs_plain": result["vs_plain_conformal"][method] <= GOAL_VS_PLAIN,
        "winkler_vs_garch": result["vs_garch_t"][method] <= 1.0,
    }


def run(
    name: str, data: dict[str, np.ndarray], refit: int, oracle: dict | None, config: CoreConfig
) -> dict:
    started = time.perf_counter()
    records = [r for symbol, y in data.items() for r in records_of(symbol, y)]
    records.sort(key=lambda r: (r["ts"], r["symbol"]))
    served = served_intervals(records, config)
    beyond = ceilings(data)
    series: dict[str, dict[str, np.ndarray]] = {}
    for symbol, y in data.items():
        mine = served[served.symbol == symbol]
        lower, upper = np.full(len(y), np.nan), np.full(len(y), np.nan)
        lower[: len(mine)], upper[: len(mine)] = mine.lower_return, mine.upper_return
        series[symbol] = {
            "y": y,
            "tickcast": (lower, upper),
            "plain_conformal": plain_conformal(y),
            "garch_t": garch_t(y, refit),
            **beyond[symbol],
        }
        if oracle is not None:
            q = stats.t.ppf(1 - ALPHA / 2, oracle["nu"]) * math.sqrt(
                (oracle["nu"] - 2) / oracle["nu"]
            )
            series[symbol]["oracle"] = (-q * oracle["sigmas"][symbol], q * oracle["sigmas"][symbol])
    result = {"bench": "intervals", "data": name, "series": len(data), **evaluate(series)}
    result["goals"] = verdict(result)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def sample_returns() -> dict[str, np.ndarray]:
    frame = pd.DataFrame(sample_records())
    frame["ts"] = pd.to_datetime(frame.ts, utc=True)
    data = {}
    for symbol, rows in frame.sort_values("ts").groupby("symbol"):
        prices = rows.price.to_numpy(dtype=float)
        data[str(symbol)] = np.diff(np.log(prices))
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refit", type=int, default=20, help="days between GARCH refits")
    parser.add_argument("--garch-series", type=int, default=4)
    parser.add_argument("--days", type=int, default=3000, help="days of each generated series")
    parser.add_argument("--table", action="store_true", help="also print a readable table")
    parser.add_argument("--interval-step", type=float, default=CoreConfig.interval_step)
    parser.add_argument("--volatility", type=float, nargs=2, default=CoreConfig.volatility)
    args = parser.parse_args()
    config = CoreConfig(interval_step=args.interval_step, volatility=tuple(args.volatility))
    generated, sigmas = {}, {}
    for i in range(args.garch_series):
        returns, sigma = garch_series(args.days, seed=i)
        generated[f"GARCH{i}"], sigmas[f"GARCH{i}"] = returns, sigma
    results = [
        run("sample", sample_returns(), args.refit, None, config),
        run("garch", generated, args.refit, {"nu": 5.0, "sigmas": sigmas}, config),
    ]
    for result in results:
        print(json.dumps(result))
        if args.table:
            table(result)


def table(result: dict[str, Any]) -> None:
    out = sys.stderr
    print(f"\n{result['data']}: {result['series']} series, {result['days']} days scored", file=out)
    print(
        f"{'method':<16}{'calm':>8}{'middle':>8}{'storm':>8}{'all':>8}{'vs plain':>10}"
        f"{'vs garch':>10}",
        file=out,
    )
    for method, by in result["coverage"].items():
        print(
            f"{method:<16}{by['calm']:>8.3f}{by['middle']:>8.3f}{by['storm']:>8.3f}"
            f"{result['coverage_all'][method]:>8.3f}{result['vs_plain_conformal'][method]:>10.3f}"
            f"{result['vs_garch_t'][method]:>10.3f}",
            file=out,
        )
    print(f"goals: {result['goals']}", file=out)


if __name__ == "__main__":
    main()
