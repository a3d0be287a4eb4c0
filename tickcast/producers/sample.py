"""The bundled real sample: River's SP500Stocks daily returns turned into price series.

River ships the file (ten large US stocks, Feb 2013 - Feb 2018, returns in percent), so the demo
needs no network. Each series starts at 100 and compounds its daily returns; ticks are stamped
at the US close (21:00 UTC) of each trading day.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["SAMPLE_SYMBOLS", "sample_records"]

SAMPLE_SYMBOLS = ("AAPL", "AMZN", "IBM", "INTC", "JNJ", "JPM", "KO", "MSFT", "WMT", "XOM")
CLOSE_HOUR_UTC = 21


def _sample_path() -> Path:
    from river import datasets

    return Path(datasets.SP500Stocks().path)


def sample_records() -> Iterator[dict[str, Any]]:
    """Yield one tick per symbol per trading day, in event-time order."""
    prices = dict.fromkeys(SAMPLE_SYMBOLS, 100.0)
    with gzip.open(_sample_path(), "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            day = datetime.strptime(row["date"], "%Y-%m-%d")
            ts = int(day.replace(hour=CLOSE_HOUR_UTC, tzinfo=UTC).timestamp() * 1000)
            for symbol in SAMPLE_SYMBOLS:
                prices[symbol] *= 1.0 + float(row[symbol]) / 100.0
                yield {"symbol": symbol, "ts": ts, "price": round(prices[symbol], 6)}
