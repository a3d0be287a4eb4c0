"""The symbols that have a forecast."""

from __future__ import annotations

from fastapi import APIRouter

from tickcast.api.deps import Latest

router = APIRouter(tags=["symbols"])


@router.get("/symbols", response_model=list[str])
def symbols(latest: Latest) -> list[str]:
    """Every symbol with a latest forecast, sorted."""
    return latest.symbols()
