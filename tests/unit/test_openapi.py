"""The API's promise: its OpenAPI schema changes only on purpose (then regenerate the file:
``python -m tests.unit.test_openapi``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tickcast.api import Services, create_app
from tickcast.stores import InMemoryLatestStore

SNAPSHOT = Path(__file__).with_name("openapi.json")


def schema() -> dict[str, Any]:
    app = create_app(Services(latest=InMemoryLatestStore(), clickhouse=None))
    return app.openapi()


def test_the_openapi_schema_is_the_one_promised() -> None:
    assert schema() == json.loads(SNAPSHOT.read_text())


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(schema(), indent=1, sort_keys=True) + "\n")
