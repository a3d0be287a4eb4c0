"""Where a symbol's state comes from when it is not in memory, and the versions an operator
chose: each decoded (signature checked) here, and refused with one log line and its fallback.

In this order: the worker's own table (``recover``: the changelog's copy, as encoded bytes);
the registry's champion when warm starts are on (its learned parameters on a fresh data state);
otherwise the pipeline starts the symbol fresh. Replays leave warm starts off, so they stay
deterministic: the same ticks, the same forecasts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from tickcast.codecs import StateCodec, StateRefusedError
from tickcast.events import emit
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import adopt_learned
from tickcast.stores.registry_child import BackgroundRegistry

__all__ = ["StateSources"]

log = logging.getLogger(__name__)


class StateSources:
    """A symbol's initial state (``__call__``) and the adoptions waiting (``adoptions``)."""

    def __init__(
        self,
        config: CoreConfig,
        codec: StateCodec,
        *,
        recover: Callable[[str], bytes | None] | None = None,
        registry: BackgroundRegistry | None = None,
        warm_start: bool = False,
    ) -> None:
        self.config = config
        self.codec = codec
        self.recover = recover
        self.registry = registry
        self.warm_start = warm_start and registry is not None

    def __call__(self, symbol: str) -> SymbolState | None:
        """The recovered state, else a warm one, else None (the pipeline starts it fresh)."""
        state = self._recovered(symbol)
        if state is None and self.warm_start:
            state = self._warm(symbol)
        return state

    def adoptions(self) -> Iterator[tuple[str, SymbolState]]:
        """The versions an operator promoted or rolled back to since the last call, decoded:
        (symbol, its state); one that does not decode is logged and passed over."""
        if self.registry is None:
            return
        for adoption in self.registry.take_adoptions():
            try:
                chosen = self.codec.decode(adoption.state, self.config, adoption.symbol)
            except StateRefusedError as exc:
                emit(
                    log,
                    "state_refused",
                    "%s: cannot adopt registry version %d: %s; serving on as before",
                    adoption.symbol,
                    adoption.version,
                    exc.reason,
                    level=logging.ERROR,
                    symbol=adoption.symbol,
                    path="adoption",
                    version=adoption.version,
                    reason=exc.reason,
                )
                continue
            emit(
                log,
                "adopted",
                "%s now serves the models of registry version %d",
                adoption.symbol,
                adoption.version,
                symbol=adoption.symbol,
                version=adoption.version,
            )
            yield adoption.symbol, chosen

    def _recovered(self, symbol: str) -> SymbolState | None:
        data = self.recover(symbol) if self.recover else None
        if data is None:
            return None
        try:
            state = self.codec.decode(data, self.config, symbol)
        except StateRefusedError as exc:
            emit(
                log,
                "state_refused",
                "%s: the recovered state is not usable (%s); starting it from the "
                "registry's champion or fresh",
                symbol,
                exc.reason,
                level=logging.WARNING,
                symbol=symbol,
                path="changelog",
                reason=exc.reason,
            )
            return None
        ts = state.progress.last_ts
        emit(
            log,
            "state_recovered",
            "recovered %s at event time %s",
            symbol,
            ts,
            symbol=symbol,
            ts=ts,
        )
        return state

    def _warm(self, symbol: str) -> SymbolState | None:
        """A fresh state that serves what the registry's champion learned."""
        assert self.registry is not None
        found = self.registry.warm_state(symbol)
        if found is None:
            return None
        version, data = found
        try:
            chosen = self.codec.decode(data, self.config, symbol)
        except StateRefusedError as exc:
            emit(
                log,
                "state_refused",
                "%s: no warm start from registry version %d: %s; starting fresh",
                symbol,
                version,
                exc.reason,
                level=logging.WARNING,
                symbol=symbol,
                path="registry",
                version=version,
                reason=exc.reason,
            )
            return None
        state = SymbolState(symbol, self.config)
        adopt_learned(state, chosen)
        emit(
            log,
            "warm_started",
            "warm start of %s from registry version %d (learned up to event time %s)",
            symbol,
            version,
            chosen.progress.last_ts,
            symbol=symbol,
            version=version,
        )
        return state
