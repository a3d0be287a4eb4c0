"""The API fuzzed from its own OpenAPI schema (schemathesis): no 5xx, every error a JSON reason,
every status and every body as the schema documents them.

It runs against the real stores: an in-process latest store with forecasts, chdb history and a
local MLflow registry.
The endless /stream is left out (it never completes a response); tests of its own cover it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_forecast
from tickcast.api import Services, create_app
from tickcast.stores import ClickHouseStore, InMemoryLatestStore

pytestmark = pytest.mark.integration
LATEST = InMemoryLatestStore()
LATEST.put_many([make_forecast("AAPL", 1_700_000_000_000)])
APP = create_app(Services(LATEST, None))  # ClickHouse joins per test: one chdb path at a time
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path="/stream")


@pytest.fixture(autouse=True)
def history(tmp_path: Path) -> Iterator[None]:
    store = ClickHouseStore(f"chdb://{tmp_path / 'olap'}")
    store.setup()
    without = APP.state.services
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    APP.state.services = replace(without, clickhouse=store, mlflow_uri=uri)  # its own registry
    yield
    APP.state.services = without
    store.close()


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_fail(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert "detail" in response.json()  # a JSON reason, not an HTML page
    # every status the API answers is documented, and every body has its documented shape
    case.validate_response(response, checks=CONFORMANCE)
