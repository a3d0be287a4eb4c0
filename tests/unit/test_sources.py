"""Replay files in every supported format, the sample, yfinance through a recorded response."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from requests.adapters import BaseAdapter

from tests.factories import write_long_csv, write_yfinance_csv, write_yfinance_multiheader_csv
from tickcast.producers import ReplayError, read_records, replay_records, sample_records
from tickcast.producers.tick_files import paced
from tickcast.producers.yfinance_source import fetch_history, poll_new_bars
from tickcast.records import parse_tick, parse_ts

DATA = Path(__file__).parent.parent / "data"


def test_yfinance_csv_takes_symbol_from_the_file_name_and_adjusted_close(tmp_path: Path) -> None:
    path = write_yfinance_csv(tmp_path / "msft_daily.csv", n=20)
    records = read_records(path)
    ticks = [parse_tick(r) for r in records]
    assert {t.symbol for t in ticks} == {"MSFT"}
    frame = pd.read_csv(path)
    assert [t.price for t in ticks] == pytest.approx(list(frame["Adj Close"]))
    assert ticks[0].high == pytest.approx(frame["High"][0])
    assert ticks[0].ts == parse_ts("2021-01-04")


def test_symbol_option_overrides_the_file_name(tmp_path: Path) -> None:
    path = write_yfinance_csv(tmp_path / "prices.csv", n=5)
    assert {r["symbol"] for r in read_records(path, symbol="^GSPC")} == {"^GSPC"}


def test_yfinance_download_multiheader_csv_is_read(tmp_path: Path) -> None:
    path = write_yfinance_multiheader_csv(tmp_path / "x.csv", "NVDA", n=10)
    ticks = [parse_tick(r) for r in read_records(path, symbol="NVDA")]
    assert len(ticks) == 10
    assert ticks[0].ts == parse_ts("2021-01-04")


def test_several_files_merge_in_event_time_order(tmp_path: Path) -> None:
    a = write_long_csv(tmp_path / "a.csv", ["AAPL", "MSFT"], n=50, seed=1)
    b = write_long_csv(tmp_path / "b.parquet.csv", ["KO"], n=50, seed=2)
    frame = pd.read_csv(b)
    frame["ts"] = frame["ts"].map(parse_ts)
    frame.to_parquet(tmp_path / "b.parquet")
    ticks = [parse_tick(r) for r in replay_records([a, tmp_path / "b.parquet"])]
    assert len(ticks) == 150
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
    assert {t.symbol for t in ticks} == {"AAPL", "MSFT", "KO"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("prices.xlsx", "x", "unknown format .xlsx"),
        ("prices.csv", "when,what\n1,2\n", "unknown columns ['when', 'what']"),
    ],
)
def test_unreplayable_files_fail_with_the_file_and_the_reason(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ReplayError, match=message.replace("[", r"\[").replace("]", r"\]")):
        list(replay_records([path]))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no such file"):
        read_records(tmp_path / "nope.csv")


def test_malformed_rows_stay_in_the_stream_for_the_dead_letter_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "symbol,ts,price\nAAPL,2024-01-02,10\nAAPL,2024-01-03,\nAAPL,garbage,11\nAAPL,2024-01-04,-5\n"
    )
    records = read_records(path)
    assert len(records) == 4  # nothing dropped on read; the unparseable ts sorts first
    assert records[0]["ts"] == "garbage"


def test_bundled_sample_is_ten_stocks_over_five_years() -> None:
    ticks = [parse_tick(r) for r in sample_records()]
    assert len(ticks) == 12_570
    assert len({t.symbol for t in ticks}) == 10
    assert ticks[0].ts == parse_ts("2013-02-11T21:00:00Z")
    assert ticks[-1].ts == parse_ts("2018-02-06T21:00:00Z")


async def test_paced_replay_spaces_records_by_event_time() -> None:
    now = [100.0]  # a clock that moves only when paced sleeps
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    records = [{"ts": 1_700_000_000_000 + i * 100} for i in range(4)]
    out = [r async for r in paced(records, speed=2.0, clock=lambda: now[0], sleep=sleep)]
    assert out == records
    assert slept == pytest.approx([0.05, 0.05, 0.05])  # 100 ms of event time apart, at 2x


class RecordedYahoo(BaseAdapter):
    """Answers yfinance's requests with a recorded chart response (no network)."""

    def __init__(self, chart: dict[str, Any]) -> None:
        super().__init__()
        self.chart = chart
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code = 200
        response.url = request.url
        response.request = request
        body = json.dumps(self.chart) if "/v8/finance/chart/" in request.url else "crumb"
        response.raw = io.BytesIO(body.encode())
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None


def test_fetch_writes_long_format_parquet_from_yahoo_chart_response(tmp_path: Path) -> None:
    adapter = RecordedYahoo(json.loads((DATA / "yahoo_chart_aapl_5d.json").read_text()))
    session = requests.Session()
    session.mount("https://", adapter)
    out = tmp_path / "aapl.parquet"
    fetch_history(["AAPL"], out, period="5d", session=session)
    assert any("/v8/finance/chart/AAPL" in url for url in adapter.urls)
    ticks = [parse_tick(r) for r in read_records(out)]
    assert [t.price for t in ticks] == [222.01, 223.45, 222.72, 227.48, 226.96]
    assert ticks[0].ts == parse_ts("2024-11-04T00:00:00-05:00")
    assert ticks[-1].volume == 38328800


def test_live_poll_publishes_only_bars_not_yet_published() -> None:
    adapter = RecordedYahoo(json.loads((DATA / "yahoo_chart_aapl_5d.json").read_text()))
    session = requests.Session()
    session.mount("https://", adapter)
    last_seen: dict[str, int] = {}
    first = poll_new_bars(["AAPL"], last_seen, interval="1d", period="5d", session=session)
    again = poll_new_bars(["AAPL"], last_seen, interval="1d", period="5d", session=session)
    assert [parse_tick(r).price for r in first] == [222.01, 223.45, 222.72, 227.48, 226.96]
    assert again == []
    assert last_seen == {"AAPL": parse_ts("2024-11-08T00:00:00-05:00")}


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("2330.TW.csv", "2330.TW"),
        ("2330_TW.csv", "2330.TW"),
        ("BRK_B.csv", "BRK.B"),
        ("msft_daily.csv", "MSFT"),
        ("^GSPC.csv", "^GSPC"),
    ],
)
def test_a_single_symbol_file_names_its_symbol(tmp_path: Path, name: str, symbol: str) -> None:
    path = write_yfinance_csv(tmp_path / name, n=5)
    assert {r["symbol"] for r in read_records(path)} == {symbol}


def test_rows_in_one_millisecond_are_numbered_and_a_repeated_row_is_a_duplicate(
    tmp_path: Path,
) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        "symbol,ts,price,volume\n"
        "AAPL,2024-03-01T14:00:00.001Z,10.0,100\n"
        "MSFT,2024-03-01T14:00:00.001Z,20.0,100\n"
        "AAPL,2024-03-01T14:00:00.001Z,10.1,200\n"  # a second trade in the same millisecond
        "AAPL,2024-03-01T14:00:00.001Z,10.1,200\n"  # the same line again: a duplicate
        "AAPL,2024-03-01T14:00:00.002Z,10.2,100\n"
    )
    ticks = [parse_tick(r) for r in read_records(path)]
    assert [(t.symbol, t.seq) for t in ticks] == [
        ("AAPL", 0),
        ("MSFT", 0),
        ("AAPL", 1),
        ("AAPL", 1),
        ("AAPL", 0),
    ]
