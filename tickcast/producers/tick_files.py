"""Replay tick files: CSV or Parquet, long or yfinance format, merged in event-time order.

Long format: columns symbol, ts, price [, seq, volume, open, high, low, close]. yfinance
format: Date or Datetime, Open, High, Low, Close [, Adj Close], Volume (one symbol per file,
from ``--symbol`` or the file name: ``2330.TW.csv`` and ``2330_TW.csv`` are 2330.TW,
``msft_daily.csv`` is MSFT, see :func:`_symbol_from`); the two-row header that
``yfinance.download`` writes is read too. Rows come out as raw records: validation (and the
dead-letter path for bad rows) happens in the stream, so a malformed row is reported, not lost.

A tick's identity is (symbol, ts, seq). A file without a ``seq`` column numbers the rows of a
symbol that share a millisecond in file order (two trades in one millisecond are two ticks); a
row identical to the previous one at that millisecond keeps its number, so it counts as the
duplicate it is.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from tickcast.exceptions import TickcastError
from tickcast.records import InvalidTickError, is_symbol, parse_ts

__all__ = ["ReplayError", "paced", "read_records", "replay_records"]

LONG_COLUMNS = {"symbol", "ts", "price"}
FORMAT_SUFFIXES = (".csv.gz", ".csv", ".txt", ".parquet", ".pq")
EXCHANGE_CODE = re.compile(r"[A-Za-z]{1,3}")  # Yahoo's .TW, .L, .DE; share classes' .B
YF_TIME_COLUMNS = ("datetime", "date", "timestamp")
YF_FIELDS = {"open": "open", "high": "high", "low": "low", "close": "close", "volume": "volume"}


class ReplayError(TickcastError):
    """A file that cannot be replayed at all (missing, unknown format); names the file."""


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise ReplayError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet") or suffix.endswith(".pq"):
            return pd.read_parquet(path)
        if suffix.endswith((".csv", ".csv.gz", ".txt")):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            return _fold_yfinance_header(frame)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ReplayError(f"{path}: cannot be read: {exc}") from None
    raise ReplayError(f"{path}: unknown format {suffix or '(no suffix)'}; use .csv or .parquet")


def _fold_yfinance_header(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the 'Ticker'/'Date' rows under yfinance.download's multi-level CSV header."""
    if len(frame.columns) and str(frame.columns[0]).lower() == "price" and len(frame) >= 2:
        first = str(frame.iloc[0, 0]).lower()
        if first == "ticker":
            time_name = str(frame.iloc[1, 0]) or "Date"
            frame = frame.iloc[2:].rename(columns={frame.columns[0]: time_name})
            frame.attrs["ticker"] = next((v for v in frame.columns[1:]), None)
    return frame


def _symbol_from(path: Path) -> str:
    """The symbol a single-symbol file's name gives: the name without its format suffix, up to
    the first underscore, except that an underscore before a 1-3 letter exchange or share class
    code stands for the dot that file names avoid.

    >>> names = ("2330.TW.csv", "2330_TW.csv", "BRK_B.csv", "msft_daily.csv", "aapl_1d.parquet")
    >>> [_symbol_from(Path(n)) for n in names]
    ['2330.TW', '2330.TW', 'BRK.B', 'MSFT', 'AAPL']
    """
    name = path.name
    for suffix in FORMAT_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    first, *rest = name.split("_")
    codes = list(itertools.takewhile(EXCHANGE_CODE.fullmatch, rest))
    symbol = ".".join([first, *codes]).upper()
    if not is_symbol(symbol):
        raise ReplayError(f"{path}: no symbol in the file name ({symbol!r}); pass --symbol")
    return symbol


def _records(frame: pd.DataFrame, path: Path, symbol: str | None) -> list[dict[str, Any]]:
    columns = {str(c).strip().lower(): c for c in frame.columns}
    if columns.keys() >= LONG_COLUMNS:
        keep = {k: columns[k] for k in ("symbol", "ts", "price", "seq", *YF_FIELDS) if k in columns}
        out = frame[list(keep.values())].rename(columns={v: k for k, v in keep.items()})
        if symbol:
            out = out.assign(symbol=symbol)
        return _as_records(out)
    time_col = next((columns[c] for c in YF_TIME_COLUMNS if c in columns), None)
    price_col = columns.get("adj close") or columns.get("close")
    if time_col is None or price_col is None:
        raise ReplayError(
            f"{path}: unknown columns {list(frame.columns)[:8]}; expected long format "
            "(symbol, ts, price) or yfinance format (Date/Datetime, Open, High, Low, Close, Volume)"
        )
    rename = {time_col: "ts", price_col: "price"}
    rename |= {
        columns[k]: v for k, v in YF_FIELDS.items() if k in columns and columns[k] != price_col
    }
    out = frame[list(rename)].rename(columns=rename)
    return _as_records(out.assign(symbol=symbol or _symbol_from(path)))


def _as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _sort_key(record: dict[str, Any]) -> int:
    try:
        return parse_ts(record.get("ts"))
    except InvalidTickError:
        return -1  # unparseable rows go first, straight to the dead-letter path


def read_records(path: str | Path, symbol: str | None = None) -> list[dict[str, Any]]:
    """All rows of one file as raw records, sorted by event time (stable)."""
    path = Path(path)
    frame = _read_table(path)
    records = _records(frame, path, symbol)
    records.sort(key=_sort_key)
    if "seq" not in (records[0] if records else {}):
        _number_same_millisecond(records)
    return records


def _number_same_millisecond(records: list[dict[str, Any]]) -> None:
    """Give each record its ``seq``: 0, or the next number after the previous record of its
    symbol in the same millisecond (the same number again when the record repeats it)."""
    last: dict[str, tuple[int, int, dict[str, Any]]] = {}
    for record in records:
        ts, symbol = _sort_key(record), record.get("symbol")
        seq = 0
        if isinstance(symbol, str) and ts >= 0:
            before = last.get(symbol)
            if before is not None and before[0] == ts:
                repeated = {k: v for k, v in before[2].items() if k != "seq"} == record
                seq = before[1] if repeated else before[1] + 1
            record["seq"] = seq
            last[symbol] = (ts, seq, record)


def replay_records(
    paths: Iterable[str | Path], symbol: str | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of several files merged in event-time order (each file read once, up front)."""
    per_file = [read_records(p, symbol) for p in paths]
    if not per_file:
        raise ReplayError("no input files given")
    yield from heapq.merge(*per_file, key=_sort_key)


async def paced(
    records: Iterable[dict[str, Any]],
    speed: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> AsyncIterator[dict[str, Any]]:
    """Yield records spaced by their event-time gaps divided by ``speed`` (0: no waiting), on
    ``clock`` (seconds) and ``sleep``."""
    if speed < 0:
        raise ValueError(f"speed must not be negative, got {speed}")
    start_wall = clock()
    start_ts: int | None = None
    for count, record in enumerate(records):
        if speed > 0:
            ts = _sort_key(record)
            if ts >= 0:
                start_ts = ts if start_ts is None else start_ts
                delay = (ts - start_ts) / 1000.0 / speed - (clock() - start_wall)
                if delay > 0:
                    await sleep(delay)
        elif count % 1000 == 999:
            await asyncio.sleep(0)  # let the consumer and the API run
        yield record
