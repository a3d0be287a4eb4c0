"""The registry at the sizes users reach, in a real local MLflow store: every search paged past
MLflow's page of 100, versions kept to the newest few (and the aliased ones) with the others'
artifacts gone, a refused checkpoint dropped without holding the others, a champion that does
not load left for the next look, and the child's queue bounded per symbol."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CODEC
from tests.eventually import eventually
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import Checkpoint, take
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick
from tickcast.stores.registry import PREFIX, Registry
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stores.registry_messages import Login
from tickcast.stores.registry_writer import Writer

pytestmark = pytest.mark.integration


def uri_in(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def checkpoint(symbol: str, ticks: int = 60, **changes: Any) -> Checkpoint:
    state = SymbolState(symbol, CoreConfig(min_outcomes=30))
    for record in synthetic_ticks(ticks, 1, seed=2):
        state.step(parse_tick(record | {"symbol": symbol}))
    return replace(take(state, CODEC, moves_aliases=False), **changes)


def test_more_symbols_than_a_page_are_all_listed_and_their_champions_found(
    tmp_path: Path,
) -> None:
    registry = Registry(uri_in(tmp_path))
    symbols = [f"S{i:03d}" for i in range(150)]
    for symbol in symbols:
        registry.client.create_registered_model(PREFIX + symbol)
    registry.log(checkpoint("S149"))
    registry.promote("S149", 1)
    assert registry.symbols() == symbols  # MLflow pages by 100: the last 50 were lost
    assert registry.champions() == {"S149": 1}


def test_a_symbol_keeps_its_newest_versions_and_its_aliased_ones_and_no_more(
    tmp_path: Path,
) -> None:
    registry = Registry(uri_in(tmp_path), keep=3)
    first = registry.log(checkpoint("AAPL", 50))[0]
    registry.promote("AAPL", first)  # an operator's choice outlives retention
    for n in range(60, 110, 10):
        registry.log(checkpoint("AAPL", n))
    kept = [v.version for v in registry.versions("AAPL")]
    assert kept == [6, 5, 4, 1]
    artifacts = tmp_path / "mlartifacts"
    states = list(artifacts.rglob("state.tks"))
    assert len(states) == 4  # the pruned versions' artifacts went with them


def test_a_refused_checkpoint_is_dropped_and_counted_and_the_others_are_written(
    tmp_path: Path,
) -> None:
    uri = uri_in(tmp_path)
    background = BackgroundRegistry(uri, watch=False).start()
    try:
        background.submit(checkpoint("GOOD", 50))
        background.submit(checkpoint("BAD", 50, params={"k" * 300: "1"}))  # a key MLflow refuses
        background.submit(checkpoint("GOOD", 60))
        eventually(lambda: not background.pending, 60, "every checkpoint written or dropped")
        stats = background.stats
    finally:
        background.close(timeout=5)
    assert (stats.written, stats.refused, stats.failures) == (2, 1, 0)
    assert Registry(uri).symbols() == ["GOOD"]


def test_a_champion_that_does_not_load_is_left_out_and_holds_nothing_up(tmp_path: Path) -> None:
    uri = uri_in(tmp_path)
    registry = Registry(uri)
    for symbol in ("AAPL", "MSFT"):
        registry.log(checkpoint(symbol))
        registry.promote(symbol, 1)
    gone = next(
        p
        for p in (tmp_path / "mlartifacts").rglob("state.tks")
        if "AAPL" in str(registry.client.get_run(p.parts[-4]).data.tags.get("symbol", ""))
    )
    gone.unlink()
    background = BackgroundRegistry(uri, watch=False).start()
    try:
        background.request_warm({0, 1, 2, 3}, 4)
        assert background.wait_warm(60)
        assert background.warm_state("AAPL") is None
        assert background.warm_state("MSFT") is not None
        background.submit(checkpoint("MSFT", 70))
        eventually(lambda: not background.pending, 30, "the checkpoint written")
        assert background.stats.written == 1
    finally:
        background.close(timeout=5)


def test_past_its_bound_the_queue_keeps_the_newest_checkpoint_of_every_symbol() -> None:
    writer = Writer(Login("unused"), 5.0, False, 2, emit=lambda event: None)
    for n in (50, 60, 70, 80):
        for symbol in ("A", "B", "C"):
            writer.submit(checkpoint(symbol, n))
    waiting = [(entry.checkpoint.symbol, entry.checkpoint.n_labels) for entry in writer.pending]
    assert waiting == [("A", 79), ("B", 79), ("C", 79)]  # one each, the newest
    assert writer.counts.replaced == 9


class Flaky:
    """A registry whose store is up but fails one symbol's checkpoints with a server error (a
    5xx is INTERNAL_ERROR, as a refused connection is: transient to the child)."""

    def __init__(self, failing: str) -> None:
        self.failing = failing
        self.logged: list[str] = []

    def log(self, checkpoint: Checkpoint) -> tuple[int, bool]:
        from mlflow.exceptions import MlflowException

        if checkpoint.symbol == self.failing:
            raise MlflowException("server error", error_code="INTERNAL_ERROR")
        self.logged.append(checkpoint.symbol)
        return len(self.logged), False


def test_one_symbols_failing_checkpoint_never_holds_the_others_for_good() -> None:
    """It waits behind the others; failing again while others are written (the store is up:
    it is this one), it is refused. Alone, it waits: that is an outage as far as can be told."""
    writer = Writer(Login("unused"), 5.0, False, 256, emit=lambda event: None)
    flaky = Flaky("BAD")
    for symbol in ("BAD", "A", "B", "C"):
        writer.submit(checkpoint(symbol))
    for round_ in range(10):  # the writer's loop: each failure ends a round (then it backs off)
        with contextlib.suppress(Exception):
            writer._write_pending(flaky)
        if writer.counts.refused:
            break
        writer.submit(checkpoint(f"N{round_}"))  # a live stream goes on checkpointing others
    assert flaky.logged[:3] == ["A", "B", "C"]
    assert writer.counts.refused == 1
    assert "BAD" not in [entry.checkpoint.symbol for entry in writer.pending]
