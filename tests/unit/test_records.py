"""Validation of ticks: every rejection carries a precise reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from tickcast.records import InvalidTickError, parse_tick, parse_ts

TS = 1_700_000_000_000


def test_tick_accepts_minimal_record() -> None:
    tick = parse_tick({"symbol": "AAPL", "ts": TS, "price": 189.5})
    assert (tick.symbol, tick.ts, tick.price, tick.volume) == ("AAPL", TS, 189.5, None)


@pytest.mark.parametrize("symbol", ["AAPL", "2330.TW", "^GSPC", "BRK-B", "EURUSD=X"])
def test_tick_accepts_exchange_symbols(symbol: str) -> None:
    assert parse_tick({"symbol": symbol, "ts": TS, "price": 1}).symbol == symbol


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"ts": TS, "price": 1}, "symbol is missing"),
        ({"symbol": 5, "ts": TS, "price": 1}, "symbol must be a string"),
        ({"symbol": "A" * 17, "ts": TS, "price": 1}, "must be 1-16 letters"),
        ({"symbol": "AA PL", "ts": TS, "price": 1}, "must be 1-16 letters"),
        ({"symbol": "AAPL", "price": 1}, "ts is missing"),
        ({"symbol": "AAPL", "ts": "yesterday", "price": 1}, "neither epoch ms nor ISO-8601"),
        ({"symbol": "AAPL", "ts": "\u00b2", "price": 1}, "neither epoch ms nor ISO-8601"),
        ({"symbol": "AAPL", "ts": 1_700_000_000, "price": 1}, "epoch seconds?"),
        ({"symbol": "AAPL", "ts": True, "price": 1}, "got boolean"),
        ({"symbol": "AAPL", "ts": TS}, "price is missing"),
        ({"symbol": "AAPL", "ts": TS, "price": float("nan")}, "price is NaN"),
        ({"symbol": "AAPL", "ts": TS, "price": "NaN"}, "price is NaN"),
        ({"symbol": "AAPL", "ts": TS, "price": float("inf")}, "price is not finite"),
        ({"symbol": "AAPL", "ts": TS, "price": -3.0}, "price must be positive"),
        ({"symbol": "AAPL", "ts": TS, "price": 0}, "price must be positive"),
        ({"symbol": "AAPL", "ts": TS, "price": "abc"}, "price must be a number, got 'abc'"),
        ({"symbol": "AAPL", "ts": TS, "price": [1]}, "price must be a number, got list"),
        ({"symbol": "AAPL", "ts": TS, "price": 1, "volume": -1}, "volume must not be negative"),
        ({"symbol": "AAPL", "ts": TS, "price": 1, "high": 1, "low": 2}, "high 1.0 is below low"),
    ],
)
def test_tick_rejections_name_the_reason(record: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidTickError, match=None) as info:
        parse_tick(record)
    assert reason in info.value.reason


def test_timestamps_iso_naive_is_utc_and_zone_is_honoured() -> None:
    assert parse_ts("2023-11-14T22:13:20") == TS
    assert parse_ts("2023-11-14T22:13:20Z") == TS
    assert parse_ts("2023-11-14T23:13:20+01:00") == TS
    assert parse_ts(str(TS)) == TS
    assert parse_ts(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)) == TS


def test_nan_optional_column_reads_as_missing() -> None:
    tick = parse_tick({"symbol": "X", "ts": TS, "price": 2.0, "volume": math.nan})
    assert tick.volume is None


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"ts": TS, "price": 1}, "bad_symbol"),
        ({"symbol": "AAPL", "ts": "yesterday", "price": 1}, "bad_ts"),
        ({"symbol": "AAPL", "ts": TS, "price": -3.0}, "bad_price"),
        ({"symbol": "AAPL", "ts": TS, "price": 1, "volume": "lots"}, "bad_field"),
        ({"symbol": "AAPL", "ts": TS, "price": 1, "high": 1, "low": 2}, "high_below_low"),
        ({"symbol": "AAPL", "ts": TS, "price": 1, "seq": -1}, "bad_seq"),
        ({"symbol": "AAPL", "ts": TS, "price": 1, "seq": "first"}, "bad_seq"),
    ],
)
def test_every_rejection_has_a_bounded_code(record: dict[str, object], code: str) -> None:
    with pytest.raises(InvalidTickError) as info:
        parse_tick(record)
    assert info.value.code == code


def test_the_code_never_carries_the_offending_value() -> None:
    codes = set()
    for price in range(-2000, 0):
        with pytest.raises(InvalidTickError) as info:
            parse_tick({"symbol": "AAPL", "ts": TS, "price": price})
        codes.add(info.value.code)
    assert codes == {"bad_price"}


def test_a_ticks_identity_includes_its_number_within_the_millisecond() -> None:
    first = parse_tick({"symbol": "AAPL", "ts": TS, "price": 1.0})
    second = parse_tick({"symbol": "AAPL", "ts": TS, "price": 1.1, "seq": 1})
    assert (first.seq, second.seq) == (0, 1)
    assert parse_tick({"symbol": "AAPL", "ts": TS, "price": 1.0, "seq": "3"}).seq == 3


def test_a_long_history_back_to_1900_is_accepted_and_epoch_seconds_are_not() -> None:
    assert parse_ts("1927-12-30") == -1_325_635_200_000
    with pytest.raises(InvalidTickError, match="epoch seconds"):
        parse_ts(1_700_000_000)
    with pytest.raises(InvalidTickError, match=r"outside 1900\.\.2100"):
        parse_ts("1899-12-31")
