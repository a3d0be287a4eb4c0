"""yfinance: history downloads to Parquet (``tickcast fetch``) and the live bar poller.

Needs the internet to reach Yahoo; tests feed recorded responses through the same conversion.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from tickcast.exceptions import TickcastError

__all__ = ["FetchError", "fetch_history", "history_to_long"]


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
        history = yfinance.Ticker(symbol, session=session).history(
            period=period, interval=interval, auto_adjust=True, raise_errors=True
        )
        frames.append(history_to_long(history, symbol))
    frame = pd.concat(frames, ignore_index=True).sort_values(["ts", "symbol"], kind="stable")
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return frame
