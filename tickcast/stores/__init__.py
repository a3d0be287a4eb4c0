"""Where outputs land: ClickHouse (history) and the latest-forecast store (Redis or memory)."""

from tickcast.stores.clickhouse import ClickHouseError, ClickHouseStore
from tickcast.stores.latest import (
    InMemoryLatestStore,
    LatestStore,
    RedisLatestStore,
    open_latest_store,
)

__all__ = [
    "ClickHouseError",
    "ClickHouseStore",
    "InMemoryLatestStore",
    "LatestStore",
    "RedisLatestStore",
    "open_latest_store",
]
