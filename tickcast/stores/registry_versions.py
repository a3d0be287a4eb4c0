"""What the registry shows about a symbol's versions: each version's tags read back, its
aliases, and whether an operator pinned the champion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CHALLENGER", "CHAMPION", "PINNED_TAG", "VersionInfo", "described", "holding", "pinned"]

CHAMPION, CHALLENGER = "champion", "challenger"
PINNED_TAG = "champion_pinned"  # on the registered model: an operator chose the champion


@dataclass(frozen=True)
class VersionInfo:
    """What ``tickcast models`` shows about one registered version."""

    symbol: str
    version: int
    ts: int
    n_labels: int
    selected_model: str
    runner_up_model: str
    served_mae_ratio: float | None
    aliases: tuple[str, ...]
    run_id: str
    origin: str  # "worker" (a live worker) or "replay" (a replay, demo or backtest)


def holding(versions: list[VersionInfo], alias: str) -> VersionInfo | None:
    """The version an alias (champion, challenger) points at, if any."""
    return next((v for v in versions if alias in v.aliases), None)


def described(symbol: str, model: Any, versions: list[Any]) -> tuple[list[VersionInfo], bool]:
    """A registered model's versions, newest first, with their aliases; and its pinned flag."""
    aliases_of: dict[int, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases_of.setdefault(int(version), []).append(alias)
    infos = sorted(
        (_info(symbol, v, aliases_of.get(int(v.version), [])) for v in versions),
        key=lambda info: -info.version,
    )
    return infos, pinned(model)


def pinned(model: Any) -> bool:
    return (model.tags or {}).get(PINNED_TAG) == "true"


def _info(symbol: str, version: Any, aliases: list[str]) -> VersionInfo:
    tags = version.tags or {}
    ratio = tags.get("served_mae_ratio", "None")
    return VersionInfo(
        symbol=symbol,
        version=int(version.version),
        ts=int(tags.get("event_ts", 0)),
        n_labels=int(tags.get("n_labels", 0)),
        selected_model=tags.get("selected_model", tags.get("champion_model", "")),  # older tags
        runner_up_model=tags.get("runner_up_model", tags.get("challenger_model", "")),
        served_mae_ratio=None if ratio == "None" else float(ratio),
        aliases=tuple(sorted(aliases)),
        run_id=version.run_id or "",
        origin=tags.get("origin", "worker"),
    )
