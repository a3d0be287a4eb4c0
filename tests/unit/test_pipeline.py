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


NOW_S = 1_800_000_000.0  # the shell's clock in these tests


def pipeline_at(now_s: float = NOW_S, **options: Any) -> tuple[Pipeline, MemorySink]:
    sink = MemorySink()
    return Pipeline(CoreConfig(), [sink], clock=lambda: now_s, **options), sink


def test_a_tick_far_ahead_of_the_clock_is_a_dead_letter_and_moves_no_clock() -> None:
    pipeline, sink = pipeline_at()
    now_ms = int(NOW_S * 1000)
    pipeline.process({"symbol": "AAPL", "ts": now_ms - 2000, "price": 10.0})
    assert pipeline.process({"symbol": "AAPL", "ts": 4_000_000_000_000, "price": 11.0}) is None
    [letter] = sink.dead_letters
    assert letter.code == "ahead_of_clock"
    assert "ahead of this process's clock" in letter.reason
    later = pipeline.process({"symbol": "AAPL", "ts": now_ms - 1000, "price": 10.5})
    assert later is not None
    assert later.status == "ok"  # the symbol's clock did not move into the future
    assert pipeline.states["AAPL"].last_ts == now_ms - 1000


def test_a_little_ahead_of_the_clock_is_accepted() -> None:
    pipeline, _ = pipeline_at(max_ahead_s=300)
    result = pipeline.process({"symbol": "AAPL", "ts": int(NOW_S * 1000) + 299_000, "price": 1.0})
    assert result is not None


def test_dead_letters_are_counted_by_a_bounded_code() -> None:
    from prometheus_client import REGISTRY

    pipeline, sink = pipeline_at()
    for price in range(-2000, 0):
        pipeline.process({"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": price})
    pipeline.observe()
    series = [s.labels["reason"] for m in REGISTRY.collect() if m.name == "tickcast_ticks_invalid"
              for s in m.samples if s.name.endswith("_total")]  # fmt: skip
    assert "bad_price" in series
    assert len(series) <= 10  # one per code, never one per value
    assert pipeline.invalid_reasons == {"bad_price": 2000}
    assert len({letter.reason for letter in sink.dead_letters}) == 2000  # full reasons kept


def test_a_changelog_state_of_another_configuration_falls_back_to_a_fresh_state(
    caplog: Any,
) -> None:
    from dataclasses import replace

    from tickcast.codecs import encode_state
    from tickcast.online_model import SymbolState

    other = SymbolState("AAPL", replace(CoreConfig(), windows=(5, 30)))
    pipeline, _ = pipeline_at(recover=lambda symbol: encode_state(other))
    result = pipeline.process({"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": 1.0})
    assert result is not None
    assert result.status == "ok"
    assert pipeline.states["AAPL"].features.windows == (5, 20)
    [line] = [r.message for r in caplog.records if "recovered state is not usable" in r.message]
    assert "another core configuration" in line


def test_processing_latency_is_counted_from_arrival_before_the_core_step() -> None:
    import time as clock

    class Stamp(MemorySink):
        def add(self, tick: Any, result: Any) -> None:
            self.seen_at = clock.perf_counter()
            super().add(tick, result)

    stamp = Stamp()
    pipeline = Pipeline(CoreConfig(), [stamp], observe_latency=True, clock=lambda: NOW_S)
    before = clock.perf_counter()
    pipeline.process({"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": 1.0})
    [arrived] = pipeline.take_arrivals()
    assert before <= arrived < stamp.seen_at
    pipeline.process({"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": 1.0})  # duplicate
    assert pipeline.take_arrivals() == []  # only forecast ticks count
