"""What the shell admits beyond a valid tick: event times near the clock, and symbols it may
serve.

Checked at the edge (the pipeline), never in the core: a tick far ahead of the wall clock would
move its symbol's event time into the future (after which every real tick is "late"), a live
tick from 1900 would open a partition a month back to then, and every new symbol costs a state
in memory, in the changelog and in the registry, so a producer with a million distinct symbols
would exhaust the worker (and again at every restart, reloading the changelog). Each refusal is
a dead letter with its code, never a silent drop.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tickcast.config import Settings
from tickcast.exceptions import ConfigError
from tickcast.records import RejectCode, Tick, is_symbol

__all__ = ["Bounds", "Refusal", "Window", "bounds_of"]

Refusal = tuple[str, RejectCode]


class Window(NamedTuple):
    """The event times (epoch ms) a tick may have, first and last, read at ``now`` once per
    batch of messages: a tick within them costs two comparisons."""

    first: int
    last: int
    now: int


@dataclass(frozen=True)
class Bounds:
    """``max_ahead_s`` / ``max_behind_s`` of the wall clock (0: no bound behind); at most
    ``max_symbols`` symbols, each matching ``pattern`` whole and in ``allowed`` when given."""

    max_ahead_s: float = 300.0
    max_behind_s: float = 0.0
    max_symbols: int = 10_000
    pattern: str = ""
    allowed: frozenset[str] | None = None

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ConfigError(f"TICKCAST_SYMBOLS_PATTERN={self.pattern!r}: {exc}") from None

    def window(self, now_ms: int) -> Window:
        """The event times a tick may have at ``now_ms``."""
        first = now_ms - int(self.max_behind_s * 1000) if self.max_behind_s else -(2**63)
        return Window(first, now_ms + int(self.max_ahead_s * 1000), now_ms)

    def time(self, tick: Tick, window: Window) -> Refusal | None:
        """Why ``tick`` is outside ``window``, if it is (the reason in seconds)."""
        if window.first <= tick.ts <= window.last:
            return None
        ahead_s = (tick.ts - window.now) / 1000
        if tick.ts > window.last:
            return (
                f"ts {tick.ts} is {ahead_s:.0f} s ahead of this process's clock "
                f"(at most {self.max_ahead_s:.0f} s)",
                "ahead_of_clock",
            )
        return (
            f"ts {tick.ts} is {-ahead_s:.0f} s behind this process's clock "
            f"(at most {self.max_behind_s:.0f} s: TICKCAST_MAX_BEHIND_S)",
            "behind_clock",
        )

    def symbol(self, symbol: str, served: Collection[str]) -> Refusal | None:
        """Why a tick of ``symbol`` may not start a state here, if it may not (``served``:
        the symbols this process holds)."""
        if symbol in served:
            return None
        if self.allowed is not None and symbol not in self.allowed:
            return f"symbol {symbol!r} is not in TICKCAST_SYMBOLS_FILE", "symbol_limit"
        if self.pattern and re.fullmatch(self.pattern, symbol) is None:
            return f"symbol {symbol!r} does not match TICKCAST_SYMBOLS_PATTERN", "symbol_limit"
        if len(served) >= self.max_symbols:
            return (
                f"symbol {symbol!r} would be symbol number {len(served) + 1} of this process, "
                f"past TICKCAST_MAX_SYMBOLS={self.max_symbols}",
                "symbol_limit",
            )
        return None


def bounds_of(settings: Settings) -> Bounds:
    """The bounds ``settings`` set, with the allowed symbols read from their file."""
    allowed = None
    if settings.symbols_file:
        path = Path(settings.symbols_file)
        try:
            lines = path.read_text().split()
        except OSError as exc:
            raise ConfigError(f"TICKCAST_SYMBOLS_FILE={path}: {exc.strerror}") from None
        bad = [line for line in lines if not is_symbol(line)]
        if bad:
            raise ConfigError(f"TICKCAST_SYMBOLS_FILE={path}: not symbols: {bad[:3]}")
        allowed = frozenset(lines)
    return Bounds(
        settings.max_ahead_s,
        settings.max_behind_s,
        settings.max_symbols,
        settings.symbols_pattern,
        allowed,
    )
