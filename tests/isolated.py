"""The environment of a tickcast process of its own, the one builder the tests and ``bench/``
share: fresh topics and a consumer group on a broker, stores under a folder, no metrics ports
(several run at once), and nothing of this process's TICKCAST_* settings unless asked."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def isolated_env(
    bootstrap: str | None = None,
    tmp: Path | None = None,
    *,
    inherit: bool = False,
    name: str = "tickcast",
    **extra: str,
) -> dict[str, str]:
    """``bootstrap``: topics and a group of its own on that broker; ``tmp``: ClickHouse, the
    state folder and MLflow under it (else every store at its default, under the working
    directory, as a user has them); ``inherit``: keep this process's TICKCAST_* settings;
    ``extra``: settings on top."""
    env = {k: v for k, v in os.environ.items() if inherit or not k.startswith("TICKCAST_")}
    env |= {"TICKCAST_WORKER_METRICS_PORT": "0", "TICKCAST_PRODUCER_METRICS_PORT": "0"}
    if bootstrap is not None:
        run = uuid.uuid4().hex[:8]  # topics apart from the app id's prefix (a role's ACLs)
        env |= {
            "TICKCAST_KAFKA_BOOTSTRAP": bootstrap,
            "TICKCAST_TICKS_TOPIC": f"ticks-{run}",
            "TICKCAST_FORECASTS_TOPIC": f"forecasts-{run}",
            "TICKCAST_DLQ_TOPIC": f"ticks-{run}.dlq",
            "TICKCAST_APP_ID": f"{name}-{run}",
        }
    if tmp is not None:
        env |= {
            "TICKCAST_CLICKHOUSE_URL": f"chdb://{tmp / 'olap'}",
            "TICKCAST_STATE_DIR": str(tmp / "state"),
            "TICKCAST_MLFLOW_URI": f"sqlite:///{tmp / 'mlflow.db'}",
        }
    return env | extra
