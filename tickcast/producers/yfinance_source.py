"""yfinance: history downloads to Parquet (``tickcast fetch``) and the live bar poller.

Needs the internet to reach Yahoo; tests feed recorded responses through the same conversion.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from tickcast.exceptions import TickcastError

log = logging.getLogger(__name__)

__all__ = ["FetchError", "fetch_history", "history_to_long", "poll_new_bars"]


class FetchError(TickcastError):
    """yfinance returned nothing usable for a symbol (offline, unknown symbol, bad range)."""


def history_to_long(history: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """Turn a ``Ticker.history`` frame (time index, OHLCV columns) into long-format rows."""
    if history.empty:
        raise FetchError(f"{symbol}: yfinance returned no rows")
    frame = history.reset_index()
    time_col = next(c for c in frame.columns if str(c).lower() in ("datetime", "date"))
    ts = pd.to_datetime(frame[time_col], utc=True)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "ts": ts.dt.as_unit("ms").astype("int64"),
            "price": frame["Close"].astype(float),
            "volume": frame["Volume"].astype(float) if "Volume" in frame else None,
            "open": frame["Open"].astype(float),
            "high": frame["High"].astype(float),
            "low": frame["Low"].astype(float),
            "close": frame["Close"].astype(float),
        }
    ).dropna(subset=["price"])


def fetch_history(
    symbols: Iterable[str],
    out: Path,
    *,
    period: str = "1y",
    interval: str = "1d",
    session: Any = None,
) -> pd.DataFrame:
    """Download history for ``symbols`` with yfinance and write one long-format Parquet file.

    ``session``: a requests/curl_cffi session for yfinance (tests pass one that answers with
    recorded responses); None lets yfinance make its own.
    """
    import yfinance

    frames = []
    for symbol in symbols:
        try:
            history = yfinance.Ticker(symbol, session=session).history(
                period=period, interval=interval, auto_adjust=True, raise_errors=True
            )
        except Exception as exc:  # offline, unknown symbol, bad range: one line
            text = " ".join(str(exc).split())[:200]
            raise FetchError(f"{symbol}: yfinance could not fetch it: {text}") from None
        frames.append(history_to_long(history, symbol))
    frame = pd.concat(frames, ignore_index=True).sort_values(["ts", "symbol"], kind="stable")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return frame


def poll_new_bars(
    symbols: Iterable[str],
    last_seen: dict[str, int],
    *,
    interval: str = "1m",
    period: str = "1d",
    session: Any = None,
) -> list[dict[str, Any]]:
    """The bars newer than ``last_seen[symbol]`` (epoch ms) for each symbol; updates last_seen.

    A symbol that yfinance cannot serve this time is logged and retried at the next poll.
    """
    import yfinance

    fresh: list[dict[str, Any]] = []
    for symbol in symbols:
        try:
            history = yfinance.Ticker(symbol, session=session).history(
                period=period, interval=interval, auto_adjust=True, raise_errors=True
            )
            frame = history_to_long(history, symbol)
        except Exception as exc:  # network, rate limit, unknown symbol: try again next poll
            log.warning("yfinance poll of %s failed: %s", symbol, exc)
            continue
        newer = frame[frame["ts"] > last_seen.get(symbol, 0)]
        if len(newer):
            last_seen[symbol] = int(newer["ts"].max())
            fresh.extend({str(k): v for k, v in row.items()} for row in newer.to_dict("records"))
    fresh.sort(key=lambda r: r["ts"])
    return fresh
