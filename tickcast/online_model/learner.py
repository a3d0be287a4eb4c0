"""Predict, then learn: one symbol's state and the step that advances it by one tick.

``SymbolState.step(tick)`` is the whole core. At tick t it (1) skips a tick at or before the
last processed event-time position (ts, seq) (a duplicate or late tick: counted, never learned
twice), (2) updates
the features, (3) scores and learns the forecast made H ticks ago, now that its label (the
realised log return) is known, and re-selects the champion, (4) forecasts from tick t with
every model and serves the champion's forecast shrunk toward the random walk.

Pure and deterministic: no I/O, no clock, so the same ticks give the same forecasts in the
embedded runner, the Faust worker and ``tickcast backtest``. The state is plain attributes and
pickles into a table entry.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tickcast.online_model.drift import DriftEvent, DriftMonitor, Shift
from tickcast.online_model.features import FeatureState
from tickcast.online_model.intervals import ConformalInterval
from tickcast.online_model.metrics import Metrics
from tickcast.online_model.models import Model, Scaler
from tickcast.online_model.spec import CoreConfig, build_model
from tickcast.records import Forecast, Outcome, Tick

__all__ = ["SERVED", "StepResult", "SymbolState", "SymbolStates"]

SERVED = "champion"
U_CLIP = (
    8.0  # standardised returns beyond 8 sigma train as 8 sigma: one jump must not wreck a model
)


class Prediction(NamedTuple):
    """One model's forecast in return space, kept until its label matures."""

    u_hat: float
    y_hat: float
    lower: float
    upper: float
    p_up: float


class Pending(NamedTuple):
    ts: int
    seq: int
    price: float
    z: list[float]
    sigma: float
    predictions: list[Prediction]  # one per model, then the served forecast


@dataclass(slots=True)
class StepResult:
    """What one tick produced; ``status`` is "ok", "duplicate" or "late"."""

    status: str = "ok"
    forecasts: list[Forecast] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    drift: list[DriftEvent] = field(default_factory=list)


class SymbolState:
    """A symbol's features, model set, calibrators, metrics and pending forecasts."""

    def __init__(self, symbol: str, config: CoreConfig) -> None:
        self.symbol = symbol
        self.config = config
        self.features = FeatureState(config.windows)
        names = self.features.names
        self.scaler = Scaler(len(names))
        self.names = [m.name for m in config.models]
        self.versions = [m.version for m in config.models]
        self.models: list[Model] = [build_model(m, names, config.horizon) for m in config.models]
        n = len(self.models) + 1  # the served forecast is scored like a model
        self.intervals = [
            ConformalInterval(config.level, config.calibration_window) for _ in range(n)
        ]
        self.metrics = [Metrics(config.level, config.metrics_window) for _ in range(n)]
        self.pending: deque[Pending] = deque()
        self.champion = 0  # index of random_walk
        self.shrink = 0.0
        self.label_mean = 0.0  # running mean of realised returns: the r2_oos reference
        self.n_ticks = 0
        self.n_labels = 0
        self.n_duplicates = 0
        self.n_late = 0
        self.last_ts: int | None = None
        self.last_seq = 0
        self.first_ts: int | None = None
        self.warmup = max(config.windows)  # no learning until the volatility estimate has data
        self.checkpointed: tuple[int, int] | None = None  # (n_labels, ts) of the last checkpoint
        self.drift = DriftMonitor([*self.names, SERVED], list(names), config.drift)
        self.boosted: dict[int, tuple[float, int]] = {}  # model -> (its learning rate, until)

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the configuration, which the state codec's header stands for."""
        state = {k: v for k, v in self.__dict__.items() if k != "config"}
        state["drift"] = self.drift.without_config()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def attach(self, config: CoreConfig) -> None:
        """Run a decoded state under ``config`` (the one its codec header was checked against)."""
        self.config = config
        self.drift.config = config.drift

    @property
    def champion_name(self) -> str:
        return self.names[self.champion]

    @property
    def challenger_name(self) -> str:
        """The runner-up of the online selection: the best advantage after the champion's."""
        t = [m.recent_selection()[1] for m in self.metrics[:-1]]
        t[0] = 0.0  # random_walk against itself
        others = [i for i in range(len(self.names)) if i != self.champion]
        return self.names[max(others, key=t.__getitem__)]

    def step(self, tick: Tick) -> StepResult:
        """Advance by one tick; see the module docstring for the order of events."""
        last_ts = self.last_ts
        if last_ts is not None and tick.ts <= last_ts:
            if tick.ts < last_ts or tick.seq < self.last_seq:
                self.n_late += 1
                return StepResult("late")
            if tick.seq == self.last_seq:
                self.n_duplicates += 1
                return StepResult("duplicate")
        if last_ts is None:
            self.first_ts = tick.ts
        self.last_ts = tick.ts
        self.last_seq = tick.seq
        self.n_ticks += 1
        x = self.features.update(tick)
        self.drift.on_features(x)
        z = self.scaler.learn_transform(x)
        sigma = self.features.volatility * math.sqrt(self.config.horizon)
        result = StepResult()
        if len(self.pending) == self.config.horizon:
            self._learn(self.pending.popleft(), tick, result)
        self._forecast(tick, z, sigma, result)
        if self.n_ticks % self.config.metrics_every == 0:
            result.metrics = self.metric_rows(tick.ts)
            result.drift.extend(self._drift_checks(tick.ts))
        return result

    def _learn(self, entry: Pending, tick: Tick, result: StepResult) -> None:
        y = math.log(tick.price / entry.price)
        sigma = entry.sigma
        mean_fc = self.label_mean
        names = [*self.names, SERVED]
        block_done = False
        for i, pred in enumerate(entry.predictions):
            metrics = self.metrics[i]
            block_done = metrics.update(y, pred.y_hat, pred.lower, pred.upper, pred.p_up, mean_fc)
            if sigma > 0:
                score = abs(y - pred.y_hat) / sigma
                self.intervals[i].update(score)
                statistic = self.drift.errors[i].update(score)
                if statistic is not None:
                    result.drift.append(self._concept_drift(i, tick.ts, statistic))
            result.outcomes.append(
                Outcome(
                    self.symbol,
                    entry.ts,
                    entry.seq,
                    tick.ts,
                    self.config.horizon,
                    names[i],
                    pred.y_hat,
                    y,
                    pred.lower,
                    pred.upper,
                    pred.lower <= y <= pred.upper,
                    pred.p_up,
                )
            )
        if sigma > 0 and self.n_ticks > self.warmup:
            u = y / sigma
            u = U_CLIP if u > U_CLIP else -U_CLIP if u < -U_CLIP else u
            for model in self.models:
                model.learn_one(entry.z, u)
        self.n_labels += 1
        self.label_mean += (y - self.label_mean) / self.n_labels
        if self.boosted:
            self._end_boosts()
        if block_done:  # every forecaster's window moved together
            self._select_champion()

    def _concept_drift(self, i: int, ts: int, statistic: float) -> DriftEvent:
        detector, threshold = self.config.drift.detector, self.drift.threshold
        return DriftEvent(self.symbol, ts, self.drift.forecasters[i], detector, "concept",
                          "abs_error", statistic, threshold, self._react(i))  # fmt: skip

    def _react(self, i: int) -> str:
        """The configured reaction to a model's concept drift, where it applies: never to
        random_walk, the served forecast or the model being served."""
        reaction = self.config.drift.reaction
        if reaction == "log" or i == 0 or i >= len(self.models) or i == self.champion:
            return "log"
        if reaction == "reset":
            features = self.features.names
            self.models[i] = build_model(self.config.models[i], features, self.config.horizon)
            return "reset"
        optimizer = getattr(self.models[i], "optimizer", None)
        if optimizer is None or i in self.boosted:
            return "log"
        self.boosted[i] = (optimizer.lr, self.n_labels + self.config.drift.boost_labels)
        optimizer.lr *= self.config.drift.boost
        return "boost_lr"

    def _end_boosts(self) -> None:
        for i, (lr, until) in list(self.boosted.items()):
            if self.n_labels >= until:
                self.models[i].optimizer.lr = lr  # type: ignore[attr-defined]
                del self.boosted[i]

    def _drift_checks(self, ts: int) -> list[DriftEvent]:
        """Data, prediction and bias drift, once per metrics block."""
        config = self.config.drift
        events = []
        for kind, feature, value in self.drift.shifts():
            model = SERVED if kind == "prediction" else ""
            events.append(
                DriftEvent(
                    self.symbol, ts, model, "psi_ks", kind, feature, value, config.psi, "log"
                )
            )
        recent = self.metrics[-1].recent.summary()
        t = self.drift.bias(recent.get("bias", 0.0), recent.get("rmse", 0.0), int(recent["n"]))
        if t is not None:
            events.append(DriftEvent(self.symbol, ts, SERVED, "bias_t", "bias", "signed_error",
                                     t, config.bias_t, "log"))  # fmt: skip
        return events

    def _select_champion(self) -> None:
        """Serve a model only while it beats the random walk significantly, with hysteresis.

        Each model's advantage is the paired t-statistic of its rolling gain in absolute error
        over the random walk; raw MAE comparisons flip on noise, paired ones far less. Runs once
        per metrics block, when the rolling windows move.
        """
        config = self.config
        recent = [m.recent_selection() for m in self.metrics[:-1]]
        if recent[0][0] < config.min_outcomes:
            return
        t = [advantage for _, advantage, _ in recent]
        t[0] = 0.0  # random_walk against itself
        best = max(range(len(t)), key=t.__getitem__)
        current = self.champion
        if t[current] < config.champion_t / 2:
            current = 0
        if (
            best != current
            and t[best] >= config.champion_t
            and (t[best] >= t[current] + config.champion_hysteresis)
        ):
            current = best
        if current != self.champion:  # another model's forecasts: a new prediction reference
            self.drift.prediction = Shift(self.config.drift.window)
        self.champion = current
        self.shrink = recent[current][2] if current else 0.0

    def _forecast(self, tick: Tick, z: list[float], sigma: float, result: StepResult) -> None:
        price, horizon, symbol, level = (
            tick.price,
            self.config.horizon,
            self.symbol,
            self.config.level,
        )
        predictions = []
        for i, model in enumerate(self.models):
            u_hat = model.predict_one(z)
            predictions.append(self._interval(i, u_hat, sigma, model.proba_up(z, u_hat)))
        best = predictions[self.champion]
        k = self.shrink
        served = self._interval(
            len(self.models), k * best.u_hat, sigma, 0.5 + k * (best.p_up - 0.5)
        )
        predictions.append(served)
        self.drift.prediction.update(served.u_hat)
        champion = self.names[self.champion]
        for i, pred in enumerate(predictions):
            is_served = i == len(self.models)
            result.forecasts.append(
                Forecast(
                    symbol,
                    tick.ts,
                    tick.seq,
                    horizon,
                    SERVED if is_served else self.names[i],
                    self.versions[self.champion if is_served else i],
                    champion if is_served else self.names[i],
                    price,
                    pred.y_hat,
                    price * math.exp(pred.y_hat),
                    price * math.exp(pred.lower),
                    price * math.exp(pred.upper),
                    level,
                    pred.p_up,
                )
            )
        self.pending.append(Pending(tick.ts, tick.seq, price, z, sigma, predictions))

    def _interval(self, i: int, u_hat: float, sigma: float, p_up: float) -> Prediction:
        y_hat = u_hat * sigma
        half = self.intervals[i].quantile() * sigma
        p_up = 0.0 if p_up < 0.0 else 1.0 if p_up > 1.0 else p_up
        return Prediction(u_hat, y_hat, y_hat - half, y_hat + half, p_up)

    def inputs(self) -> list[int]:
        """How many inputs each forecaster fits (adjusted R2's penalty), the served one's being
        the selected model's."""
        counts = [model.n_inputs for model in self.models]
        return [*counts, counts[self.champion]]

    def metric_rows(self, ts: int) -> list[dict[str, Any]]:
        """A snapshot of every forecaster's rolling and cumulative metrics at event time ts."""
        rows = []
        named = zip([*self.names, SERVED], self.metrics, self.inputs(), strict=True)
        for name, metrics, n_inputs in named:
            for window, summary in metrics.summaries(n_inputs).items():
                based_on = self.champion_name if name == SERVED else name
                rows.append(
                    {
                        "symbol": self.symbol,
                        "ts": ts,
                        "model": name,
                        "window": window,
                        "based_on": based_on,
                        **summary,
                    }
                )
        return rows

    def summary(self) -> dict[str, dict[str, Any]]:
        """Cumulative metrics per forecaster, the served one under ``champion``."""
        named = zip([*self.names, SERVED], self.metrics, self.inputs(), strict=True)
        return {name: metrics.cumulative.summary(n) for name, metrics, n in named}


class SymbolStates:
    """One :class:`SymbolState` per symbol, created the first time a symbol appears."""

    def __init__(self, config: CoreConfig) -> None:
        self.config = config
        self.states: dict[str, SymbolState] = {}

    def __getitem__(self, symbol: str) -> SymbolState:
        state = self.states.get(symbol)
        if state is None:
            state = self.states[symbol] = SymbolState(symbol, self.config)
        return state

    def step(self, tick: Tick) -> StepResult:
        return self[tick.symbol].step(tick)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.states.values())

    def __len__(self) -> int:
        return len(self.states)
