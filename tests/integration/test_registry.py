"""Checkpoints in a real local MLflow store (SQLite): what they hold, aliases moved only on
evidence or by an operator (and then pinned), replays leaving the aliases alone, loading back,
warm states for a worker's partitions, a child that dies with its parent, and an MLflow that
does not answer."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.conftest import CODEC
from tests.eventually import eventually, eventually_async
from tickcast import bootstrap
from tickcast.codecs import key_partition
from tickcast.exceptions import TickcastError
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import CheckpointPolicy
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick
from tickcast.stores.registry import Registry
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors import MemorySink, Pipeline, run_embedded

pytestmark = pytest.mark.integration
EVERY = 400


def replay(
    records: list[Any], config: CoreConfig, uri: str | None, *, moves_aliases: bool = False
) -> tuple[Pipeline, MemorySink]:
    """The embedded runner over ``records``, checkpointing every EVERY labels into ``uri``."""
    registry = BackgroundRegistry(uri, watch=False).start() if uri else None
    memory = MemorySink()
    pipeline = factories.replay(
        records,
        memory,
        config=config,
        registry=registry,
        policy=CheckpointPolicy(EVERY),
        moves_aliases=moves_aliases,
        flush_interval_s=0.05,
    )
    if registry is not None:
        registry.close(timeout=60)
    return pipeline, memory


def predictable(n: int, symbols: int = 1) -> list[dict[str, Any]]:
    """Returns with a strong AR(1) term: a model beats the random walk with evidence."""
    return list(synthetic_ticks(n, symbols, seed=3, ar=0.7, jump_prob=0.0))


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Any], MemorySink]:
    """One replay of 2 symbols x 1500 ticks into a fresh store, shared by the read-only tests."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    records = list(synthetic_ticks(3000, 2, seed=11))
    _, memory = replay(records, CoreConfig(min_outcomes=30, metrics_every=50), uri)
    return uri, records, memory


def test_checkpoints_are_runs_with_metrics_params_and_the_learner_artifact(
    replayed: tuple[str, list[Any], MemorySink],
) -> None:
    uri, _, _ = replayed
    registry = Registry(uri)
    assert registry.symbols() == ["SYN000", "SYN001"]
    versions = registry.versions("SYN000")
    # every 400 labels over 1499 labels, plus the final one
    assert [v.n_labels for v in versions] == [1499, 1200, 800, 400]
    newest = versions[0]
    assert {v.origin for v in versions} == {"replay"}
    assert all(v.aliases == () for v in versions)  # a replay moves no alias by itself
    run = registry.client.get_run(newest.run_id)
    assert run.data.metrics["served.cumulative.mae"] > 0
    assert run.data.params["linear.kind"] == "linear"
    assert run.data.params["horizon"] == "1"
    artifacts = [a.path for a in registry.client.list_artifacts(newest.run_id, "checkpoint")]
    assert artifacts == ["checkpoint/metrics.json", "checkpoint/state.tks"]


def test_a_version_loaded_back_forecasts_exactly_as_the_live_learner_did(
    replayed: tuple[str, list[Any], MemorySink],
) -> None:
    uri, records, memory = replayed
    registry = Registry(uri)
    middle = next(v for v in registry.versions("SYN001") if v.n_labels == 800)
    config = CoreConfig(min_outcomes=30, metrics_every=50)
    state = CODEC.decode(registry.load_bytes("SYN001", middle.version), config)
    assert isinstance(state, SymbolState)
    assert state.progress.last_ts == middle.ts
    later = [t for t in map(parse_tick, records) if t.symbol == "SYN001" and t.ts > middle.ts]
    replayed_forecasts = [f for tick in later for f in state.step(tick).forecasts]
    live = [f for f in memory.forecasts if f.symbol == "SYN001" and f.ts > middle.ts]
    assert len(replayed_forecasts) == len(live) > 0
    assert replayed_forecasts == live


def test_the_champion_moves_only_on_evidence_and_never_while_the_random_walk_serves(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    replay(list(synthetic_ticks(1700, 1, seed=3)), CoreConfig(), uri, moves_aliases=True)
    registry = Registry(uri)
    versions = registry.versions("SYN000")
    assert {v.selected_model for v in versions} == {"random_walk"}
    assert "challenger" in versions[0].aliases  # the newest
    assert not any("champion" in v.aliases for v in versions)  # no evidence: no champion

    replay(predictable(1700), CoreConfig(), uri, moves_aliases=True)
    versions = registry.versions("SYN000")
    champion = next(v for v in versions if "champion" in v.aliases)
    assert champion.selected_model != "random_walk"
    assert champion.served_mae_ratio is not None
    assert champion.served_mae_ratio < 1


def test_an_operators_choice_is_pinned_until_cleared(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    replay(predictable(1700), CoreConfig(), uri)  # a replay: evidence, but no live alias moves
    registry = Registry(uri)
    assert not any(v.aliases for v in registry.versions("SYN000"))
    newest = registry.versions("SYN000")[0].version
    assert registry.promote("SYN000", 1) is None  # there was no champion
    assert registry.pinned("SYN000")
    replay(predictable(1700), CoreConfig(), uri, moves_aliases=True)  # evidence, but pinned
    assert registry.champions() == {"SYN000": 1}
    with pytest.raises(TickcastError, match="oldest"):
        registry.rollback("SYN000")
    registry.promote("SYN000", newest)
    assert registry.rollback("SYN000") == (newest, newest - 1)
    assert registry.unpin("SYN000")
    replay(predictable(1700), CoreConfig(), uri, moves_aliases=True)
    assert registry.champions()["SYN000"] > newest  # evidence moves it again
    with pytest.raises(TickcastError, match="no registered model"):
        registry.versions("NOPE")


def test_warm_states_come_for_the_requested_partitions_only(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    replay(list(synthetic_ticks(1200, 6, seed=3)), CoreConfig(), uri)
    registry = Registry(uri)
    for symbol in registry.symbols():
        registry.promote(symbol, 1)
    mine = {key_partition(b"SYN000", 4)}
    expected = {s for s in registry.symbols() if key_partition(s.encode(), 4) in mine}
    worker = BackgroundRegistry(uri, watch=False).start()
    try:
        worker.request_warm(mine, 4)
        assert worker.wait_warm(30)
        loaded = {s for s in registry.symbols() if worker.warm_state(s) is not None}
    finally:
        worker.close(timeout=5)
    assert loaded == expected
    assert 0 < len(loaded) < 6


def test_a_moved_champion_is_queued_for_the_hot_path_to_adopt(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    replay(list(synthetic_ticks(1700, 1, seed=3)), CoreConfig(), uri)
    Registry(uri).promote("SYN000", 2)
    watcher = BackgroundRegistry(uri, poll_s=0.2).start()
    try:
        watcher.request_warm({0, 1, 2, 3}, 4)
        assert watcher.wait_warm(30)
        warm = watcher.warm_state("SYN000")
        assert warm is not None
        assert CODEC.decode(warm[1], CoreConfig()).progress.n_labels == 2 * EVERY
        assert watcher.take_adoptions() == []  # nothing moved yet
        Registry(uri).promote("SYN000", 1)
        adoptions = eventually(watcher.take_adoptions, 20, "the champion's move")
        moved = [
            (a.symbol, a.version, CODEC.decode(a.state, CoreConfig()).progress.n_labels)
            for a in adoptions
        ]
        assert moved == [("SYN000", 1, EVERY)]
    finally:
        watcher.close(timeout=5)


def test_the_stream_hears_what_was_written_while_it_runs(tmp_path: Path) -> None:
    """The child's events are read at every flush: a pipe nobody reads stalls its reports
    (the benchmark once saw 'written 0' for a store of a few hundred versions)."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = BackgroundRegistry(uri, watch=False).start()
    runtime = bootstrap.runtime(CoreConfig(), registry=registry, policy=CheckpointPolicy(100))

    async def run() -> int:
        await run_embedded(list(synthetic_ticks(4000, 4, seed=5)), runtime)

        def heard() -> bool:
            runtime.cut()  # a cut hears what the registry said
            return registry.stats.written >= 8

        await eventually_async(heard, 30, "8 checkpoints written")
        return registry.stats.written

    try:
        assert asyncio.run(run()) >= 8
    finally:
        registry.close(timeout=30)


CHILD_OF_A_PARENT = """
import signal, sys
from tickcast.stores.registry_child import BackgroundRegistry
registry = BackgroundRegistry(sys.argv[1], watch=False).start()
print(registry.pid, flush=True)
signal.pause()  # until the test kills it
"""


def test_the_registry_process_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_A_PARENT, f"sqlite:///{tmp_path / 'mlflow.db'}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    eventually(lambda: not _alive(child), 10, f"the end of the registry process {child}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else ""
    )
    return state != "Z"  # a zombie has ended; only its exit status is left


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An address that accepts connections and never answers: MLflow slow, or hung."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_an_unanswering_mlflow_neither_stalls_the_stream_nor_changes_a_forecast(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")  # every call hangs a minute
    records = list(synthetic_ticks(6000, 3, seed=4))
    config = CoreConfig()
    registry = BackgroundRegistry(silent_server, watch=False).start()
    memory = MemorySink()
    factories.replay(
        records, memory, config=config, registry=registry, policy=CheckpointPolicy(100)
    )
    # The stream finished while the registry's first call still hung (it fails after 60 s,
    # and none has failed yet): the stream never waited on it.
    assert registry.stats.failures == 0
    assert registry.stats.written == 0
    assert registry.pending >= 3 * 19  # every 100 labels of 3 x 1999, but the one in flight
    registry.close(timeout=0.5)
    _, baseline = replay(records, config, None)
    assert memory.forecasts == baseline.forecasts  # nothing lost, nothing different
    assert len({(f.symbol, f.ts) for f in memory.forecasts}) == len(records)


def test_a_refused_mlflow_is_retried_and_the_checkpoints_wait() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens: connections are refused at once
    records = list(synthetic_ticks(1000, 2, seed=4))
    registry = BackgroundRegistry(f"http://127.0.0.1:{port}", watch=False).start()
    factories.replay(records, registry=registry, policy=CheckpointPolicy(100))
    eventually(lambda: registry.stats.failures >= 2, 20, "two failed attempts")
    assert registry.stats.written == 0
    # 4 per symbol (every 100 of 499 labels) and the final one; one that failed gives way to a
    # newer one of its symbol that waits behind it: the newest of each symbol waits
    assert registry.pending + registry.stats.replaced == 2 * 5
    assert registry.pending >= 2
    registry.close(timeout=0.5)
