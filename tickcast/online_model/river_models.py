"""The model set's Python half: River's opt-in models, which the compiled core calls back.

The hot set (random_walk, mean, linear with any loss and optimiser, the logistic direction
model) is compiled in ``tickcast._core``: River's dict-based StandardScaler | LinearRegression
costs about as much per model as the whole compiled core per tick (see ``bench/``). River
supplies the opt-in heavier models: a depth-bounded Hoeffding tree and SNARIMAX, and River's
ADWIN as the other concept-drift detector. Every model forecasts the standardised return
``u = r / sigma`` from the scaled feature vector ``z``.
"""

from __future__ import annotations

import math
from typing import Any

from tickcast.online_model.drift import DriftConfig

__all__ = ["RiverExternals", "RiverTree", "Snarimax"]


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


class RiverTree:
    """River's Hoeffding tree regressor, depth-bounded (opt-in: about 45 us per tick)."""

    def __init__(self, names: list[str], max_depth: int = 6, grace_period: int = 200) -> None:
        from river import tree

        self.check(max_depth, grace_period)
        self.names = names
        self.model = tree.HoeffdingTreeRegressor(
            max_depth=max_depth, grace_period=grace_period, leaf_prediction="adaptive"
        )

    @staticmethod
    def check(max_depth: int = 6, grace_period: int = 200) -> None:
        if not 1 <= max_depth <= 12:
            raise ValueError(f"max_depth must be within 1..12, got {max_depth}")
        if grace_period < 1:
            raise ValueError(f"grace_period must be positive, got {grace_period}")

    def predict(self, z: list[float]) -> float:
        return float(self.model.predict_one(dict(zip(self.names, z, strict=True))))

    def learn(self, z: list[float], u: float) -> None:
        self.model.learn_one(dict(zip(self.names, z, strict=True)), u)


class Snarimax:
    """River's SNARIMAX on the series of matured standardised returns (opt-in)."""

    def __init__(self, horizon: int, p: int = 2, d: int = 0, q: int = 1) -> None:
        from river import time_series

        self.check(p, d, q)
        self.horizon = horizon
        self.model = time_series.SNARIMAX(p=p, d=d, q=q)
        self.seen = 0

    @staticmethod
    def check(p: int = 2, d: int = 0, q: int = 1) -> int:
        """Raise ValueError on bad orders; the number of inputs the model fits."""
        if min(p, d, q) < 0 or p + q == 0:
            raise ValueError(f"orders must not be negative and p + q positive, got {(p, d, q)}")
        return p + q

    def predict(self, z: list[float]) -> float:
        if not self.seen:
            return 0.0
        return float(self.model.forecast(horizon=self.horizon)[-1])

    def learn(self, z: list[float], u: float) -> None:
        self.model.learn_one(u)
        self.seen += 1


class RiverExternals:
    """One symbol's Python-side models and detectors, by their index in the model set (the
    compiled learner calls ``predict``/``learn``/``reset``/``detect``). It pickles: the state
    codec stores it beside the compiled state."""

    def __init__(
        self,
        specs: list[dict[str, Any]],
        kinds: list[str],
        names: list[str],
        horizon: int,
        drift: DriftConfig,
    ) -> None:
        self.specs = specs  # (kind, params) per model index, None for the compiled ones
        self.names = names
        self.horizon = horizon
        self.models: dict[int, Any] = {}
        for i, (kind, params) in enumerate(zip(kinds, specs, strict=True)):
            if kind in ("tree", "snarimax"):
                self.models[i] = self._build(kind, params)
        self.adwin_delta = drift.adwin_delta if drift.detector == "adwin" else None
        self.detectors: dict[int, Any] = {}
        self.kinds = kinds

    def _build(self, kind: str, params: dict[str, Any]) -> Any:
        if kind == "tree":
            return RiverTree(self.names, **params)
        return Snarimax(self.horizon, **params)

    def predict(self, i: int, z: list[float]) -> tuple[float, float]:
        u_hat = self.models[i].predict(z)
        return u_hat, normal_cdf(u_hat)

    def learn(self, i: int, z: list[float], u: float) -> None:
        if i in self.models:
            self.models[i].learn(z, u)

    def reset(self, i: int) -> None:
        if i in self.models:
            self.models[i] = self._build(self.kinds[i], self.specs[i])

    def detect(self, forecaster: int, score: float) -> float | None:
        """River's ADWIN on a forecaster's scores: its new mean estimate when the errors grew.
        ADWIN finds a change either way; errors that shrink (a model still learning) are no
        concept drift, as the Page-Hinkley test, one-sided, never reports them."""
        if self.adwin_delta is None:
            return None
        detector = self.detectors.get(forecaster)
        if detector is None:
            from river.drift import ADWIN

            detector = self.detectors[forecaster] = ADWIN(delta=self.adwin_delta)
        before = detector.estimation
        detector.update(score)
        if detector.drift_detected and detector.estimation > before:
            return float(detector.estimation)
        return None
