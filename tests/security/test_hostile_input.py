"""Hostile messages: whatever arrives becomes a tick or a dead letter with a bounded code, and
nothing else happens (no exception, no state for a symbol past the bounds, no page that runs
what it received)."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import verdicts
from tickcast import bootstrap
from tickcast.messages import MAX_MESSAGE_BYTES
from tickcast.online_model import CoreConfig
from tickcast.records import RejectCode
from tickcast.stream_processors import Runtime
from tickcast.stream_processors.bounds import Bounds

NOW_MS = 1_800_000_000_000
CODES = set(typing.get_args(RejectCode))
REPO = Path(__file__).resolve().parents[2]


def runtime_at(**options: Any) -> Runtime:
    """The runtime every entry point builds, its clock at NOW_MS."""
    return bootstrap.runtime(CoreConfig(), clock=lambda: NOW_MS / 1000, **options)


def tick(**fields: Any) -> dict[str, Any]:
    return {"symbol": "AAPL", "ts": NOW_MS, "price": 10.0} | fields


def letter_of(message: Any, **options: Any) -> tuple[str, str]:
    """The (code, reason) a single message becomes."""
    runtime = runtime_at(**options)
    assert verdicts(runtime, [message]) == ["invalid"]
    [letter] = runtime.pipeline.take().dead_letters
    return letter.code, letter.reason


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["AAPL\n", "9" * 5000, "0001-01-01T00:00:00+01:00", "1e309", "\x00"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)
tick_like = st.fixed_dictionaries(
    {"symbol": json_values | st.just("AAPL"), "ts": json_values, "price": json_values},
    optional={"seq": json_values, "volume": json_values, "high": json_values, "low": json_values},
)
raw_messages = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)),
    tick_like.map(orjson.dumps),
    tick_like,
)


@settings(max_examples=400, deadline=None)  # no deadline: this machine is slow and shared
@given(st.lists(raw_messages, max_size=20))
def test_any_bytes_or_json_become_ticks_or_dead_letters_with_a_bounded_code(
    messages: list[Any],
) -> None:
    runtime = runtime_at()
    outcomes = verdicts(runtime, messages)
    steps = runtime.pipeline
    letters = steps.take().dead_letters
    assert len(outcomes) == len(messages)
    assert len(letters) == outcomes.count("invalid")
    assert {letter.code for letter in letters} <= CODES
    assert all(letter.reason and "\n" not in letter.code for letter in letters)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (orjson.dumps(tick(ts="9" * 5000)), "bad_ts"),  # int() of it raised ValueError
        (orjson.dumps(tick(seq="9" * 5000)), "bad_seq"),  # and of this one
        (orjson.dumps(tick(ts="0001-01-01T00:00:00+01:00")), "bad_ts"),  # OverflowError
        (orjson.dumps(tick(symbol="CCC\n")), "bad_symbol"),  # re.match with $ took it
        (b"[" * 100_000 + b"]" * 100_000, "too_large"),
        (b"[" * 5_000 + b"]" * 5_000, "not_json"),  # deeper than the parser goes
        (orjson.dumps(tick(price={"a": [1, {"b": 2}]})), "bad_price"),
        (orjson.dumps([tick()]), "not_an_object"),
    ],
    ids=[
        "ts-digits",
        "seq-digits",
        "ts-year-1",
        "symbol-newline",
        "oversized",
        "deep",
        "nested",
        "array",
    ],
)
def test_each_hostile_message_is_a_dead_letter_with_its_code(message: bytes, code: str) -> None:
    assert letter_of(message)[0] == code


def test_a_dead_letter_keeps_at_most_a_message_s_worth_of_the_original() -> None:
    """The topic's original bytes go to the dead-letter topic: a message of megabytes would not
    fit the producer's batch, and its send would fail the whole batch."""
    runtime = runtime_at()
    runtime.process([b"x" * (4 * MAX_MESSAGE_BYTES)])
    [letter] = runtime.pipeline.take().dead_letters
    assert letter.code == "too_large"
    assert len(letter.original) == MAX_MESSAGE_BYTES
    assert len(letter.payload) <= MAX_MESSAGE_BYTES


def test_a_tick_under_another_key_is_a_dead_letter_and_starts_no_state() -> None:
    steps = runtime_at().pipeline
    window = steps.bounds.window(NOW_MS)
    assert steps.decode(orjson.dumps(tick(symbol="MSFT")), window, NOW_MS, b"AAPL") is None
    assert steps.decode(orjson.dumps(tick()), window, NOW_MS, b"") is None  # no key at all
    assert steps.decode(orjson.dumps(tick()), window, NOW_MS, b"AAPL") is not None
    assert [letter.code for letter in steps.take().dead_letters] == ["bad_key", "bad_key"]
    assert list(steps.states.states) == ["AAPL"]


def test_symbols_past_the_cap_or_the_allowlist_are_dead_letters() -> None:
    runtime = runtime_at(bounds=Bounds(max_symbols=3, pattern=r"[A-Z]{1,5}"))
    messages = [tick(symbol=symbol) for symbol in ("AAA", "BBB", "CCC", "ZZZZ", "lower")]
    messages.append(tick(symbol="AAA", ts=NOW_MS + 1))  # a symbol it serves: always in
    outcomes = verdicts(runtime, messages)
    capped = runtime.pipeline
    letters = capped.take().dead_letters
    assert outcomes == ["ok", "ok", "ok", "invalid", "invalid", "ok"]
    assert [letter.code for letter in letters] == ["symbol_limit", "symbol_limit"]
    assert "TICKCAST_MAX_SYMBOLS=3" in letters[0].reason
    assert "TICKCAST_SYMBOLS_PATTERN" in letters[1].reason
    assert len(capped.states.states) == 3


def test_one_batch_of_new_symbols_cannot_overshoot_the_cap() -> None:
    runtime = runtime_at(bounds=Bounds(max_symbols=10))
    runtime.process([tick(symbol=f"N{i}") for i in range(1000)])
    capped = runtime.pipeline
    assert len(capped.states.states) == 10
    assert capped.invalid_reasons == {"symbol_limit": 990}


def test_a_symbol_outside_the_allowlist_file_is_a_dead_letter() -> None:
    allowed = runtime_at(bounds=Bounds(allowed=frozenset({"AAPL"})))
    assert verdicts(allowed, [tick(), tick(symbol="MSFT")]) == ["ok", "invalid"]


def test_a_tick_far_behind_the_clock_is_a_dead_letter_when_bounded() -> None:
    year_1900 = -2_208_988_800_000
    assert letter_of(tick(ts=year_1900), bounds=Bounds(max_behind_s=86_400))[0] == "behind_clock"
    assert verdicts(runtime_at(), [tick(ts=year_1900)]) == ["ok"]  # off by default: a replay


def test_pages_never_put_received_text_into_html() -> None:
    """The static page builds its table from text nodes, and the application never sets HTML
    (React escapes what it renders unless told not to)."""
    static = (REPO / "tickcast/api/static/app.js").read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", static)
    for source in (REPO / "frontend/src").rglob("*.ts*"):
        text = source.read_text()
        assert "innerHTML" not in text, source  # dangerouslySetInnerHTML too


def test_a_tick_just_past_the_window_cannot_slip_a_new_symbol_past_the_cap() -> None:
    """The window is read once per batch; a tick beyond it was checked again against a later
    clock, and when that second look let it through, the symbol check was skipped."""
    now = [NOW_MS / 1000]

    def clock() -> float:
        now[0] += 1.0  # every look at the clock is a second later
        return now[0]

    runtime = bootstrap.runtime(
        CoreConfig(), clock=clock, bounds=Bounds(max_symbols=1, max_ahead_s=1)
    )
    ahead = NOW_MS + 2500  # past the batch's window, within a later one
    runtime.process([tick(symbol=f"S{i}", ts=ahead) for i in range(4)])
    assert len(runtime.pipeline.states.states) <= 1
