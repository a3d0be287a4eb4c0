"""The REST API: latest forecasts from the latest store, history from ClickHouse."""

from tickcast.api.deps import Limits, Services
from tickcast.api.main import create_app

__all__ = ["Limits", "Services", "create_app"]
