"""Liveness, readiness and the Prometheus series (at /metrics, Prometheus's own path)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tickcast.api.deps import ServicesDep
from tickcast.api.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health() -> HealthOut:
    """The process is up (it may still be waiting for its stores: see /ready)."""
    return HealthOut(status="ok")


@router.get("/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
def ready(services: ServicesDep) -> Response:
    """Every store answers; 503 names the ones that do not."""
    checks = {"latest": "ok" if services.latest.ping() else "unreachable"}
    if services.clickhouse is not None:
        checks["clickhouse"] = "ok" if services.clickhouse.ping() else "unreachable"
    ok = all(v == "ok" for v in checks.values())
    body = ReadyOut(status="ok" if ok else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
