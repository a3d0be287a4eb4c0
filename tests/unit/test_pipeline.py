"""The stream shell never raises on bad input and never loses a message; the runtime reads the
clock (the bounds' window, a dead letter's time), the pipeline never does."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CODEC
from tests.factories import verdicts
from tests.isolated import logged
from tickcast import bootstrap
from tickcast.online_model import CoreConfig
from tickcast.records import parse_tick
from tickcast.stream_processors import Pipeline, Runtime
from tickcast.stream_processors.bounds import Bounds

NOW_S = 1_800_000_000.0  # the runtime's clock in these tests
NOW_MS = int(NOW_S * 1000)
WINDOW = Bounds().window(NOW_MS)  # the event times a pipeline takes at that clock

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers()),
)
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
    pipeline = Pipeline(CoreConfig())
    outcomes = pipeline.process(messages, WINDOW, NOW_MS).per_message()
    letters = pipeline.take().dead_letters
    assert len(outcomes) == len(messages)
    assert len(letters) == outcomes.count("invalid") == pipeline.counts["invalid"]
    assert all(letter.reason and letter.code for letter in letters)
    processed = sum(pipeline.counts[k] for k in ("ok", "duplicate", "late"))
    assert processed + pipeline.counts["invalid"] == len(messages)


def runtime_at(now_s: float = NOW_S, **options: Any) -> Runtime:
    """A runtime whose clock reads ``now_s``, built as every entry point builds one."""
    return bootstrap.runtime(CoreConfig(), clock=lambda: now_s, **options)


def test_a_tick_far_ahead_of_the_clock_is_a_dead_letter_and_moves_no_clock() -> None:
    runtime = runtime_at()
    now_ms = int(NOW_S * 1000)
    assert verdicts(
        runtime,
        [
            {"symbol": "AAPL", "ts": now_ms - 2000, "price": 10.0},
            {"symbol": "AAPL", "ts": 4_000_000_000_000, "price": 11.0},
            {"symbol": "AAPL", "ts": now_ms - 1000, "price": 10.5},
        ],
    ) == ["ok", "invalid", "ok"]
    [letter] = runtime.pipeline.take().dead_letters
    assert letter.code == "ahead_of_clock"
    assert "ahead of this process's clock" in letter.reason
    assert letter.received_at == now_ms  # the runtime's clock, read for the batch
    states = runtime.pipeline.states
    assert states["AAPL"].progress.last_ts == now_ms - 1000  # the clock did not jump ahead


def test_a_little_ahead_of_the_clock_is_accepted() -> None:
    runtime = runtime_at(bounds=Bounds(max_ahead_s=300))
    tick = {"symbol": "AAPL", "ts": int(NOW_S * 1000) + 299_000, "price": 1.0}
    assert verdicts(runtime, [tick]) == ["ok"]


def test_dead_letters_are_counted_by_a_bounded_code() -> None:
    from prometheus_client import REGISTRY

    from tickcast.stream_processors import MemorySink, PrometheusObserver

    runtime = bootstrap.runtime(
        CoreConfig(), [MemorySink()], clock=lambda: NOW_S, observers=[PrometheusObserver()]
    )
    runtime.process(
        [{"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": price} for price in range(-2000, 0)]
    )
    assert runtime.pipeline.invalid_reasons == {"bad_price": 2000}
    letters = runtime.cut().parts["memory"].dead_letters  # the cut told the observer
    series = [
        s.labels["reason"]
        for m in REGISTRY.collect()
        if m.name == "tickcast_ticks_invalid"
        for s in m.samples
        if s.name.endswith("_total")
    ]
    assert "bad_price" in series
    assert len(series) <= 10  # one per code, never one per value
    assert len({letter.reason for letter in letters}) == 2000  # full reasons kept


def test_a_changelog_state_of_another_configuration_falls_back_to_a_fresh_state(
    caplog: Any,
) -> None:
    from dataclasses import replace

    from tickcast.online_model import SymbolState

    other = SymbolState("AAPL", replace(CoreConfig(), windows=(5, 30)))
    runtime = runtime_at(recover=lambda symbol: CODEC.encode(other), codec=CODEC)
    tick = {"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": 1.0}
    assert verdicts(runtime, [tick]) == ["ok"]
    assert runtime.pipeline.states["AAPL"].config.windows == (5, 20)
    [refused] = logged(caplog.records, "state_refused")
    assert refused["path"] == "changelog"
    assert "another core configuration" in refused["reason"]


def test_processing_latency_is_counted_from_the_messages_arrival() -> None:
    import time as clock

    runtime = runtime_at()
    tick = {"symbol": "AAPL", "ts": int(NOW_S * 1000), "price": 1.0}
    before = clock.perf_counter()
    runtime.process([tick])
    after = clock.perf_counter()
    [(arrived, ticks)] = runtime.cut().arrivals
    assert before <= arrived <= after
    assert ticks == 1
    runtime.process([tick])  # a duplicate
    assert runtime.cut().arrivals == []  # only forecast ticks count


def test_taken_outputs_leave_an_empty_batch_and_each_moved_symbol_once() -> None:
    pipeline = Pipeline(CoreConfig())
    ms = int(NOW_S * 1000)
    pipeline.process(
        [
            {"symbol": s, "ts": ms + i, "price": 10.0 + i}
            for i in range(30)
            for s in ("AAPL", "MSFT")
        ],
        WINDOW,
        NOW_MS,
    )
    outputs = pipeline.take()
    assert outputs.rows("ticks") == 60
    assert outputs.rows("forecasts") == 60 * len(CoreConfig().forecasters)
    fresh = pipeline.take_fresh()  # the open batch is empty again: nothing newer
    assert fresh == []
    assert set(pipeline.take_dirty()) == {"AAPL", "MSFT"}
    assert len(pipeline.take()) == 0
    assert pipeline.take_dirty() == {}
    assert {f.symbol: f.ts for f in outputs.latest()} == {"AAPL": ms + 29, "MSFT": ms + 29}


def test_the_latest_store_is_given_each_newer_served_forecast_once() -> None:
    pipeline = Pipeline(CoreConfig())
    ms = int(NOW_S * 1000)
    pipeline.process(
        [
            {"symbol": s, "ts": ms + i, "price": 10.0 + i}
            for i in range(3)
            for s in ("AAPL", "MSFT")
        ],
        WINDOW,
        NOW_MS,
    )
    assert [(f.symbol, f.ts, f.model) for f in pipeline.take_fresh()] == [
        ("AAPL", ms + 2, "served"),
        ("MSFT", ms + 2, "served"),
    ]
    assert pipeline.take_fresh() == []  # nothing newer since
    pipeline.process([{"symbol": "MSFT", "ts": ms + 5, "price": 11.0}], WINDOW, NOW_MS)
    assert [(f.symbol, f.ts) for f in pipeline.take_fresh()] == [("MSFT", ms + 5)]


def test_many_observations_at_once_equal_as_many_single_ones() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from tickcast.monitor.prometheus import observe_many

    registry = CollectorRegistry()
    one = Histogram("one", "", buckets=(0.001, 0.01, 0.1), registry=registry)
    many = Histogram("many", "", buckets=(0.001, 0.01, 0.1), registry=registry)
    for value, n in ((0.0005, 3), (0.05, 7), (5.0, 2)):
        for _ in range(n):
            one.observe(value)
        observe_many(many, value, n)

    def samples(name: str) -> list[tuple[str, dict[str, str], float]]:
        found = [m for m in registry.collect() if m.name == name]
        return [
            (s.name.removeprefix(name), s.labels, s.value)
            for m in found
            for s in m.samples
            if not s.name.endswith("_created")
        ]

    assert samples("one") == samples("many")


def test_the_newest_rolling_metrics_equal_the_last_rolling_record_per_symbol_and_model() -> None:
    from tickcast.producers import synthetic_ticks

    pipeline = Pipeline(CoreConfig())
    pipeline.step([parse_tick(r) for r in synthetic_ticks(6000, 3)])
    outputs = pipeline.take()
    metrics = ("mae", "coverage", "bias")
    expected = {}
    for row in outputs.metric_rows():  # the records, the slow and obvious way
        if row.window == "rolling":
            expected[(row.symbol, row.model)] = {name: getattr(row, name) for name in metrics}
    found = {(symbol, model): values for symbol, model, values in outputs.newest_rolling(metrics)}
    assert len(expected) == 3 * len(CoreConfig().forecasters)
    assert found == expected


def test_the_prometheus_observer_shows_each_models_newest_rolling_quality() -> None:
    from prometheus_client import REGISTRY

    from tickcast.producers import synthetic_ticks
    from tickcast.stream_processors import PrometheusObserver

    pipeline = Pipeline(CoreConfig())
    pipeline.step([parse_tick(r) for r in synthetic_ticks(4000, 2)])
    outputs = pipeline.take()
    PrometheusObserver().observe(outputs, pipeline)
    [(symbol, model, values)] = [
        found for found in outputs.newest_rolling(("mae",)) if found[:2] == ("SYN001", "linear")
    ]
    shown = REGISTRY.get_sample_value(
        "tickcast_model_rolling", {"symbol": symbol, "model": model, "metric": "mae"}
    )
    assert shown == values["mae"] > 0


def test_a_networks_gradient_norms_are_gauges_and_other_models_have_none() -> None:
    from prometheus_client import REGISTRY

    from tickcast.online_model import resolve_models
    from tickcast.producers import synthetic_ticks
    from tickcast.stream_processors import PrometheusObserver

    pipeline = Pipeline(CoreConfig(models=resolve_models(["linear", "mlp"])))
    pipeline.step([parse_tick(r) for r in synthetic_ticks(2000, 1, seed=5)])
    PrometheusObserver().observe(pipeline.take(), pipeline)

    def gauge(model: str, metric: str) -> float | None:
        labels = {"symbol": "SYN000", "model": model, "metric": metric}
        return REGISTRY.get_sample_value("tickcast_model_rolling", labels)

    assert (gauge("mlp", "grad_norm_input") or 0) > 0
    assert (gauge("mlp", "grad_norm_output") or 0) > 0
    assert gauge("linear", "grad_norm_input") is None
    assert (gauge("linear", "in_sample_mae") or 0) > 0
