"""The API over real stores, filled by the embedded runner: shared by the API's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories import replay
from tickcast.api import Services, create_app
from tickcast.producers import synthetic_ticks
from tickcast.stores import ClickHouseStore, InMemoryLatestStore, LatestStore
from tickcast.stream_processors import ClickHouseSink, Pipeline


def fill(store: ClickHouseStore | None, latest: LatestStore, n: int = 600) -> Pipeline:
    sinks = [ClickHouseSink(store)] if store else []
    return replay(synthetic_ticks(n, 3), *sinks, latest=latest)


@pytest.fixture
def client(clickhouse: ClickHouseStore) -> Iterator[TestClient]:
    latest = InMemoryLatestStore()
    fill(clickhouse, latest)
    with TestClient(create_app(Services(latest, clickhouse))) as test_client:
        yield test_client
