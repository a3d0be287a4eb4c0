"""The stream shell never raises on bad input and never loses a message."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tickcast.online_model import CoreConfig
from tickcast.stream_processors import MemorySink, Pipeline

values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers()),
)  # fmt: skip
records = st.one_of(
    st.dictionaries(st.sampled_from(["symbol", "ts", "price", "volume", "high", "low"]), values),
    st.binary(max_size=200),
    st.text(max_size=200),
    st.fixed_dictionaries(
        {"symbol": st.sampled_from(["AAPL", "MSFT"]), "ts": values, "price": values}
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(records, max_size=30))
def test_every_message_is_either_a_tick_or_a_dead_letter_with_a_reason(
    messages: list[Any],
) -> None:
    sink = MemorySink()
    pipeline = Pipeline(CoreConfig(), [sink])
    results = [pipeline.process(m) for m in messages]
    rejected = [m for m, r in zip(messages, results, strict=True) if r is None]
    assert len(sink.dead_letters) == len(rejected) == pipeline.counts["invalid"]
    assert all(letter.reason for letter in sink.dead_letters)
    processed = sum(pipeline.counts[k] for k in ("ok", "duplicate", "late"))
    assert processed + pipeline.counts["invalid"] == len(messages)
