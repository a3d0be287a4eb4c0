"""The environment of a tickcast process of its own, the one builder the tests and ``bench/``
share: fresh topics and a consumer group on a broker, stores under a folder, no metrics ports
(several run at once), its log as JSON lines (its events, :func:`events`, are what a test
reads, not its prose), and nothing of this process's TICKCAST_* settings unless asked."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any


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
    env |= {
        "TICKCAST_WORKER_METRICS_PORT": "0",
        "TICKCAST_PRODUCER_METRICS_PORT": "0",
        "TICKCAST_LOG_FORMAT": "json",  # what a process did, as events a test reads
    }
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


def events(log: str, name: str | None = None) -> list[dict[str, Any]]:
    """The events (:mod:`tickcast.events`) in a JSON-lines log, those named ``name`` if given,
    in order; lines that are not JSON (a third party's print) are passed over."""
    found = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "event" in record and (name is None or record["event"] == name):
                found.append(record)
    return found


def logged(records: list[Any], name: str) -> list[dict[str, Any]]:
    """The events named ``name`` among log records this process kept (pytest's caplog)."""
    return [
        {**record.fields, "event": name}
        for record in records
        if getattr(record, "event", None) == name
    ]
