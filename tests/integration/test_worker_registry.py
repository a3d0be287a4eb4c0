"""`tickcast worker` with the MLflow registry on a real broker: it starts a symbol warm from
the champion an operator chose among a replay's versions (what it learned, on a fresh data
state), and adopts the version an operator promotes, live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CODEC
from tests.eventually import eventually
from tests.factories import replay
from tests.integration.kafka_support import (
    TopicCollector,
    Worker,
    assert_same_forecasts,
    forecasts_of,
    identity_sorted,
    publish,
    worker_env,
)
from tickcast.config import KafkaAuth
from tickcast.online_model import CoreConfig, SymbolStates
from tickcast.online_model.checkpoints import CheckpointPolicy, adopt_learned
from tickcast.producers import synthetic_ticks
from tickcast.producers.kafka_publisher import ensure_topics
from tickcast.records import Forecast, parse_tick
from tickcast.stores.registry import Registry
from tickcast.stores.registry_child import BackgroundRegistry

pytestmark = pytest.mark.integration


def core_forecasts(states: SymbolStates, records: list[dict[str, Any]]) -> list[Forecast]:
    return identity_sorted(f for r in records for f in states.step(parse_tick(r)).forecasts)


def load(uri: str, symbol: str, version: Any) -> Any:
    return CODEC.decode(Registry(uri).load_bytes(symbol, version.version), CoreConfig())


def test_worker_warm_starts_from_the_champion_and_follows_a_promotion(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    records = list(synthetic_ticks(4200, 2, seed=21))
    history, live_a, live_b = records[:2400], records[2400:3300], records[3300:]

    # An analyst replays history: checkpoints every 400 labels, the last one at its end.
    registry = BackgroundRegistry(uri, watch=False).start()
    replay(history, registry=registry, policy=CheckpointPolicy(400))
    registry.close(timeout=60)
    versions = Registry(uri).versions("SYN000")
    assert not any(v.aliases for v in versions)  # a replay leaves the aliases alone
    assert versions[0].n_labels == 1199  # the end of history
    for symbol in ("SYN000", "SYN001"):  # which the operator chooses to serve
        Registry(uri).promote(symbol, Registry(uri).versions(symbol)[0].version)

    env = worker_env(
        kafka_bootstrap,
        tmp_path,
        TICKCAST_MLFLOW_URI=uri,
        TICKCAST_REGISTRY_POLL_S="0.5",
        TICKCAST_CHECKPOINT_EVERY_LABELS="1000000",
    )
    ensure_topics(
        KafkaAuth(kafka_bootstrap), {env["TICKCAST_TICKS_TOPIC"]: 4, env["TICKCAST_DLQ_TOPIC"]: 1}
    )
    worker = Worker(env, tmp_path / "worker.log")
    worker.wait_assigned()
    forecasts = TopicCollector(kafka_bootstrap, env["TICKCAST_FORECASTS_TOPIC"])
    try:
        publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], live_a)
        seen_a = forecasts_of(forecasts.wait_for(len(live_a)))
        assert "SYN000" in {e["symbol"] for e in worker.events("warm_started")}

        # Warm: what the end of history learned, on a fresh data state.
        states = SymbolStates(CoreConfig())
        for symbol in ("SYN000", "SYN001"):
            adopt_learned(states[symbol], load(uri, symbol, Registry(uri).versions(symbol)[0]))
        assert_same_forecasts(seen_a, core_forecasts(states, live_a))
        fresh = core_forecasts(SymbolStates(CoreConfig()), live_a)
        assert identity_sorted(seen_a) != fresh  # a cold start would have differed

        # An operator rolls SYN000 back to its first version; the worker adopts it live.
        oldest = versions[-1].version
        Registry(uri).promote("SYN000", oldest)
        eventually(
            lambda: (
                {"symbol": "SYN000", "version": oldest}.items()
                <= (worker.events("adopted") or [{}])[-1].items()
            ),
            60,
            lambda: f"SYN000 adopting version {oldest}:\n{worker.text()[-3000:]}",
        )
        publish(kafka_bootstrap, env["TICKCAST_TICKS_TOPIC"], live_b)
        messages = forecasts.wait_for(len(live_a) + len(live_b))
    finally:
        assert worker.stop() == 0, worker.text()[-3000:]
        forecasts.close()

    adopt_learned(states["SYN000"], load(uri, "SYN000", versions[-1]))
    expected_b = core_forecasts(states, live_b)
    seen_b = [f for f in forecasts_of(messages) if f.ts >= live_b[0]["ts"]]
    assert_same_forecasts(seen_b, expected_b)
    unchanged = SymbolStates(CoreConfig())
    core_forecasts(unchanged, history + live_a)
    moved_on = core_forecasts(unchanged, live_b)
    assert [f for f in moved_on if f.symbol == "SYN000"] != [
        f for f in identity_sorted(seen_b) if f.symbol == "SYN000"
    ]  # the promotion changed what SYN000 forecast
