"""Checkpoints in a real local MLflow store (SQLite): what they hold, aliases, loading back,
operator moves, and an MLflow that does not answer."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tickcast.exceptions import TickcastError
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import CheckpointPolicy
from tickcast.producers import synthetic_ticks
from tickcast.records import parse_tick
from tickcast.stores.registry import BackgroundRegistry, Registry
from tickcast.stream_processors import MemorySink, Pipeline, run_embedded

pytestmark = pytest.mark.integration
EVERY = 400


def replay(records: list[Any], config: CoreConfig, uri: str | None) -> tuple[Pipeline, MemorySink]:
    """The embedded runner over ``records``, checkpointing every EVERY labels into ``uri``."""
    registry = BackgroundRegistry(uri, watch=False).start() if uri else None
    memory = MemorySink()
    pipeline = Pipeline(config, [memory], registry=registry, policy=CheckpointPolicy(EVERY))
    asyncio.run(run_embedded(records, pipeline, flush_interval_s=0.05))
    if registry is not None:
        registry.close(timeout=60)
    return pipeline, memory


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
    assert "challenger" in newest.aliases
    assert any("champion" in v.aliases for v in versions)
    run = registry.client.get_run(newest.run_id)
    assert run.data.metrics["champion.cumulative.mae"] > 0
    assert run.data.params["linear.kind"] == "linear"
    assert run.data.params["horizon"] == "1"
    artifacts = [a.path for a in registry.client.list_artifacts(newest.run_id, "checkpoint")]
    assert artifacts == ["checkpoint/state.pkl"]


def test_a_version_loaded_back_forecasts_exactly_as_the_live_learner_did(
    replayed: tuple[str, list[Any], MemorySink],
) -> None:
    uri, records, memory = replayed
    registry = Registry(uri)
    middle = next(v for v in registry.versions("SYN001") if v.n_labels == 800)
    state = registry.load("SYN001", middle.version)
    assert isinstance(state, SymbolState)
    assert state.last_ts == middle.ts
    later = [t for t in map(parse_tick, records) if t.symbol == "SYN001" and t.ts > middle.ts]
    replayed_forecasts = [f for tick in later for f in state.step(tick).forecasts]
    live = [f for f in memory.forecasts if f.symbol == "SYN001" and f.ts > middle.ts]
    assert len(replayed_forecasts) == len(live) > 0
    assert replayed_forecasts == live


def test_promote_and_rollback_move_the_champion_alias(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    replay(list(synthetic_ticks(1700, 1, seed=3)), CoreConfig(), uri)
    registry = Registry(uri)
    newest = registry.versions("SYN000")[0].version
    assert registry.promote("SYN000", 1) is not None
    assert "champion" in registry.versions("SYN000")[-1].aliases  # version 1, the oldest
    with pytest.raises(TickcastError, match="oldest"):
        registry.rollback("SYN000")
    registry.promote("SYN000", newest)
    assert registry.rollback("SYN000") == (newest, newest - 1)
    with pytest.raises(TickcastError, match="no registered model"):
        registry.versions("NOPE")


def test_a_moved_champion_is_queued_for_the_hot_path_to_adopt(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    replay(list(synthetic_ticks(1700, 1, seed=3)), CoreConfig(), uri)
    watcher = BackgroundRegistry(uri, poll_s=0.2).start()
    try:
        assert watcher.wait_ready(30)
        warm = watcher.warm_state("SYN000")
        assert warm is not None
        assert warm[1].n_labels == 1699  # the champion, loaded for warm starts
        assert watcher.take_adoptions() == []  # nothing moved yet
        Registry(uri).promote("SYN000", 1)
        deadline = time.monotonic() + 20
        adoptions: list[Any] = []
        while not adoptions and time.monotonic() < deadline:
            time.sleep(0.1)
            adoptions = watcher.take_adoptions()
        assert [(s, v, st.n_labels) for s, v, st in adoptions] == [("SYN000", 1, EVERY)]
    finally:
        watcher.close(timeout=5)


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
    pipeline = Pipeline(config, [memory], registry=registry, policy=CheckpointPolicy(100))
    start = time.monotonic()
    asyncio.run(run_embedded(records, pipeline))
    elapsed = time.monotonic() - start
    # The stream finished while the registry's first call still hung: it never waited on it.
    assert elapsed < 60
    assert registry.written == 0
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
    pipeline = Pipeline(CoreConfig(), [MemorySink()], registry=registry,
                        policy=CheckpointPolicy(100))  # fmt: skip
    asyncio.run(run_embedded(records, pipeline))
    deadline = time.monotonic() + 20
    while registry.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert registry.failures >= 2
    assert registry.written == 0
    assert registry.pending == 2 * 5  # 4 per symbol (every 100 of 499 labels), the final one
    registry.close(timeout=0.5)
