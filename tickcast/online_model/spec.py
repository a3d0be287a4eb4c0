"""Model specifications and the core's configuration, validated when they are built.

A spec is data (kind + parameters), so it can come from a CLI flag or a config file, be
compared, and fingerprint the model version that forecasts carry. Every default and every
check lives here; :meth:`CoreConfig.resolved` hands the compiled core (``tickcast._core``)
the complete, checked configuration.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from statistics import NormalDist
from typing import Any

from tickcast._core import CONTRACT, Spec
from tickcast._core import feature_names as core_feature_names
from tickcast.contract import (
    ACTIVATIONS,
    BASELINE,
    CALENDAR_FEATURES,
    DIGEST,
    LOSSES,
    MODEL_KINDS,
    OPTIMIZERS,
    SERVED,
    TARGETS,
)
from tickcast.exceptions import ConfigError
from tickcast.online_model.drift import DETECTORS, REACTIONS, DriftConfig
from tickcast.records import Forecast

__all__ = [
    "BASELINE",
    "DEFAULT_MODELS",
    "OPTIONAL_MODELS",
    "CoreConfig",
    "ModelSpec",
    "config_from_mapping",
    "feature_names",
    "resolve_models",
]

if CONTRACT != DIGEST:  # a core compiled before the contract changed: its names may differ
    raise ImportError(
        f"tickcast's compiled core was built from contract {CONTRACT}, its Python side is "
        f"{DIGEST}: build the core again (make, or pip install -e .)"
    )

RIVER_KINDS = ("tree", "snarimax")  # River's models, run in Python as the core's "external"
KINDS = tuple(k for k in MODEL_KINDS if k != "external") + RIVER_KINDS
LINEAR = {"loss": "squared", "l1": 0.0, "l2": 0.0, "huber_delta": 1.345, "clip": 10.0}
DIRECTION = {"loss": "log", "l1": 0.0, "l2": 0.0}
MLP = {
    "hidden": (16, 8),
    "activation": "tanh",  # one for every hidden layer, or a list with one per layer
    "target": "return",
    "loss": None,  # squared for a return, log for a direction
    "huber_delta": 1.345,
    "dropout": 0.0,
    "l1": 0.0,
    "l2": 0.0,
    "clip": 5.0,  # the gradient's largest L2 norm
}


def feature_names(windows: tuple[int, ...]) -> list[str]:
    """Names of the feature vector for the given rolling windows, in vector order (the core's
    layout, declared in the contract)."""
    names: list[str] = core_feature_names(list(windows))
    return names


@dataclass(frozen=True)
class ModelSpec:
    """A named model: ``kind`` picks the model, ``params`` its hyper-parameters."""

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def fingerprint(self) -> str:
        """A short hash of kind and parameters: the same spec, the same fingerprint."""
        text = repr((self.kind, sorted(self.params)))
        return hashlib.sha1(text.encode()).hexdigest()[:8]


def spec(name: str, kind: str, **params: Any) -> ModelSpec:
    return ModelSpec(name, kind, tuple(sorted(params.items())))


DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    spec("random_walk", "random_walk"),
    spec("mean", "mean"),
    spec("linear", "linear", loss="squared", optimizer="sgd", lr=0.0005, l2=0.001),
    spec("huber", "linear", loss="huber", optimizer="adam", lr=0.0005, l2=0.001),
    spec("direction", "direction", optimizer="sgd", lr=0.002, l2=0.001),
)
OPTIONAL_MODELS: tuple[ModelSpec, ...] = (
    spec("mlp", "mlp", hidden=(16, 8), activation="tanh", optimizer="adam", lr=0.001, l2=1e-4),
    spec(
        "mlp_direction",
        "mlp",
        target="direction",
        hidden=(16, 8),
        activation="relu",
        optimizer="adam",
        lr=0.001,
        l2=1e-4,
    ),
    spec("tree", "tree", max_depth=6, grace_period=200),
    spec("snarimax", "snarimax", p=2, d=0, q=1),
)
CATALOGUE = {s.name: s for s in DEFAULT_MODELS + OPTIONAL_MODELS}


def resolve_models(names: list[str] | None) -> tuple[ModelSpec, ...]:
    """Specs for the named models (default set when None); random_walk is always included."""
    if not names:
        return DEFAULT_MODELS
    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        raise ConfigError(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(CATALOGUE)}"
        )
    chosen = [BASELINE] + [n for n in dict.fromkeys(names) if n != BASELINE]
    return tuple(CATALOGUE[n] for n in chosen)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _not_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return float(value)


def _optimizer(params: dict[str, Any]) -> dict[str, Any]:
    name = params.pop("optimizer", "sgd")
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")
    values: dict[str, Any] = {"optimizer": name}
    for key, default in OPTIMIZERS[name].items():
        values[key] = _positive(key, params.pop(key, default))
    return values


def _loss(loss: Any, target: str) -> str:
    """The loss, checked against what the model forecasts (a return or a direction)."""
    allowed = LOSSES if target == "return" else ("log",)
    if loss not in allowed:
        hint = "" if loss not in (*LOSSES, "log") else f" to a {target} target"
        raise ConfigError(
            f"loss {loss!r} does not apply{hint}; choose {' or '.join(map(repr, allowed))}"
        )
    return str(loss)


def _network(params: dict[str, Any]) -> dict[str, Any]:
    """A multilayer perceptron's checked hyper-parameters: 1-4 hidden layers of 1-256 units."""
    values = _take(params, MLP)
    hidden = values["hidden"]
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = (hidden,)
    if (
        not isinstance(hidden, tuple | list)
        or not 1 <= len(hidden) <= 4
        or any(isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= 256 for h in hidden)
    ):
        raise ConfigError(f"hidden must be 1 to 4 layer sizes within 1..256, got {hidden!r}")
    activation = values.pop("activation")
    activations = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
    if len(activations) != len(hidden) or any(a not in ACTIVATIONS for a in activations):
        raise ConfigError(
            f"activation must be one of {', '.join(ACTIVATIONS)}, or a list of them with one per "
            f"hidden layer, got {activation!r}"
        )
    if values["target"] not in TARGETS:
        raise ConfigError(f"target must be one of {', '.join(TARGETS)}, got {values['target']!r}")
    default_loss = "squared" if values["target"] == "return" else "log"
    values["loss"] = _loss(values["loss"] or default_loss, values["target"])
    if not 0 <= values["dropout"] < 1:
        raise ConfigError(f"dropout must be within [0, 1), got {values['dropout']!r}")
    for key in ("l1", "l2"):
        values[key] = _not_negative(key, values[key])
    for key in ("huber_delta", "clip"):
        values[key] = _positive(key, values[key])
    return values | {"hidden": list(hidden), "activations": activations}


def _take(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {key: params.pop(key, default) for key, default in defaults.items()}


def _resolved(model_spec: ModelSpec, width: int) -> dict[str, Any]:
    """A spec with every default filled in and every value checked, as the core takes it;
    bad or unknown parameters raise ConfigError naming the model."""
    params = dict(model_spec.params)
    kind = model_spec.kind
    values: dict[str, Any] = {"name": model_spec.name, "fingerprint": model_spec.fingerprint}
    try:
        if kind in ("random_walk", "mean"):
            values["kind"] = kind
        elif kind == "linear":
            values |= {"kind": kind, **_take(params, LINEAR), **_optimizer(params)}
            _loss(values["loss"], "return")
            for key in ("l1", "l2"):
                values[key] = _not_negative(key, values[key])
            values["huber_delta"] = _positive("huber_delta", values["huber_delta"])
            values["clip"] = _positive("clip", values["clip"])
        elif kind == "direction":
            values |= {"kind": kind, **_take(params, DIRECTION), **_optimizer(params)}
            _loss(values["loss"], "direction")
            for key in ("l1", "l2"):
                values[key] = _not_negative(key, values[key])
        elif kind == "mlp":
            values |= {"kind": kind, **_network(params), **_optimizer(params)}
        elif kind == "tree":
            from tickcast.online_model.models import RiverTree

            values |= {"kind": "external", "n_inputs": width}
            RiverTree.check(**params)
            params.clear()
        elif kind == "snarimax":
            from tickcast.online_model.models import Snarimax

            values |= {"kind": "external", "n_inputs": Snarimax.check(**params)}
            params.clear()
        else:
            raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if params:
            raise ConfigError(f"unknown parameter(s) {', '.join(sorted(params))} for kind {kind}")
    except ConfigError as exc:
        raise ConfigError(f"model {model_spec.name!r}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model {model_spec.name!r}: {exc}") from None
    return values


@dataclass(frozen=True)
class CoreConfig:
    """What the core needs; validated on construction.

    ``horizon``: ticks ahead; ``level``: nominal interval coverage; ``windows``: feature windows;
    ``volatility``: the weights (a, b) of the GARCH(1,1)-type recursion that scales targets and
    intervals, ``var = (1 - a - b) long_run + a r^2 + b var`` (fitted to daily equity data:
    ``bench/intervals.py``);
    ``metrics_window``: the effective window of the rolling metrics and of the selection of
    the served model (outcomes); ``interval_step``: how fast the intervals' quantile follows
    its misses; ``select_t``: the t-statistic of its gain over the random walk a model needs
    to be served (it keeps serving down to half of that); ``select_hysteresis``: how much
    higher a challenger's t must be to replace it; ``min_outcomes``: scored forecasts before
    any switch; ``metrics_every``: ticks between metric snapshots per symbol.
    """

    horizon: int = 1
    level: float = 0.9
    models: tuple[ModelSpec, ...] = DEFAULT_MODELS
    windows: tuple[int, ...] = (5, 20)
    volatility: tuple[float, float] = (0.07, 0.91)
    metrics_window: int = 250
    interval_step: float = 0.005
    select_t: float = 3.0
    select_hysteresis: float = 0.5
    min_outcomes: int = 50
    metrics_every: int = 100
    drift: DriftConfig = field(default_factory=DriftConfig)

    def __post_init__(self) -> None:
        if not 1 <= self.horizon <= 10_000:
            raise ConfigError(f"horizon must be within 1..10000 ticks, got {self.horizon}")
        if not 0.5 <= self.level < 1.0:
            raise ConfigError(f"interval level must be within [0.5, 1), got {self.level}")
        if not self.models or self.models[0].name != BASELINE:
            raise ConfigError(f"the model set must start with {BASELINE}")
        names = [m.name for m in self.models]
        if len(set(names)) != len(names) or SERVED in names:
            raise ConfigError(f"model names must be unique and not {SERVED!r}: {names}")
        if len(names) > 100:
            raise ConfigError(f"at most 100 models, got {len(names)}")
        for name, value in (
            ("metrics_window", self.metrics_window),
            ("metrics_every", self.metrics_every),
        ):
            if value < 2:
                raise ConfigError(f"{name} must be at least 2, got {value}")
        a, b = self.volatility
        if not (a > 0 and b >= 0 and a + b < 1):
            raise ConfigError(f"volatility (a, b) needs a > 0, b >= 0, a + b < 1, got {(a, b)}")
        if not 0 < self.interval_step <= 1:
            raise ConfigError(f"interval_step must be within (0, 1], got {self.interval_step}")
        if self.select_t <= 0 or self.select_hysteresis < 0:
            raise ConfigError("select_t must be positive and select_hysteresis not negative")
        if not self.windows or any(not 2 <= w <= 10_000 for w in self.windows):
            raise ConfigError(f"feature windows must be within 2..10000 ticks, got {self.windows}")
        if self.drift.detector not in DETECTORS:
            raise ConfigError(
                f"drift detector must be one of {', '.join(DETECTORS)}, got {self.drift.detector!r}"
            )
        if self.drift.reaction not in REACTIONS:
            raise ConfigError(
                f"drift reaction must be one of {', '.join(REACTIONS)}, got {self.drift.reaction!r}"
            )
        self.resolved()  # bad hyper-parameters fail here, not at the first tick

    @functools.cached_property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    @functools.cached_property
    def fingerprints(self) -> list[str]:
        return [m.fingerprint for m in self.models]

    @functools.cached_property
    def forecasters(self) -> list[str]:
        """The names of the core's rows of a tick, by the core's numbers: every model in order
        (the random walk first), then the served forecast (``served_index``)."""
        return [*self.names, SERVED]

    @property
    def served_index(self) -> int:
        return len(self.models)

    def based_on(self, forecaster: int, selected: int) -> int:
        """The model a row of the core comes from: itself, or for the served forecast the
        selected model."""
        return selected if forecaster == self.served_index else forecaster

    def forecast(self, symbol: str, row: Sequence[Any]) -> Forecast:
        """A Forecast from the core's numbers: (ts, seq, forecaster, based_on, price,
        predicted_return, predicted_price, lower, upper, p_up)."""
        ts, seq, forecaster, based_on, price, predicted, predicted_price, lower, upper, p_up = row
        model = self.models[based_on]
        return Forecast(
            symbol,
            ts,
            seq,
            self.horizon,
            self.forecasters[forecaster],
            model.fingerprint,
            model.name,
            price,
            predicted,
            predicted_price,
            lower,
            upper,
            self.level,
            p_up,
        )

    @functools.cached_property
    def feature_names(self) -> list[str]:
        return feature_names(self.windows)

    def resolved(self) -> dict[str, Any]:
        """The whole configuration as the compiled core takes it: every default filled in."""
        names = self.feature_names
        return {
            "horizon": self.horizon,
            "level": self.level,
            "prior": NormalDist().inv_cdf(0.5 + self.level / 2.0),
            "interval_step": self.interval_step,
            "windows": list(self.windows),
            "volatility": tuple(map(float, self.volatility)),
            "feature_names": names,
            "checked": [i for i, name in enumerate(names) if name not in CALENDAR_FEATURES],
            "metrics_window": self.metrics_window,
            "select_t": self.select_t,
            "select_hysteresis": self.select_hysteresis,
            "min_outcomes": self.min_outcomes,
            "metrics_every": self.metrics_every,
            "warmup": max(self.windows),  # no learning until the volatility estimate has data
            "drift": asdict(self.drift),
            "models": [_resolved(m, len(names)) for m in self.models],
        }

    @functools.cached_property
    def spec(self) -> Spec:
        """The resolved configuration, compiled once per CoreConfig."""
        return Spec(self.resolved())


CONFIG_KEYS = {
    "horizon",
    "volatility",
    "level",
    "windows",
    "metrics_window",
    "interval_step",
    "select_t",
    "select_hysteresis",
    "min_outcomes",
    "metrics_every",
}


def config_from_mapping(data: Mapping[str, Any], base: CoreConfig | None = None) -> CoreConfig:
    """A CoreConfig from a parsed model file (TOML): top-level settings and ``[models.NAME]``
    tables with ``kind`` and hyper-parameters. random_walk is always added first."""
    base = base or CoreConfig()
    unknown = sorted(set(data) - CONFIG_KEYS - {"models", "drift"})
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; known: models, drift, "
            f"{', '.join(sorted(CONFIG_KEYS))}"
        )
    values: dict[str, Any] = {k: data[k] for k in CONFIG_KEYS if k in data}
    for key in ("windows", "volatility"):
        if key in values:
            values[key] = tuple(values[key])
    if "drift" in data:
        try:
            values["drift"] = replace(base.drift, **data["drift"])
        except TypeError as exc:
            raise ConfigError(f"[drift]: {exc}") from None
    tables = data.get("models", {})
    if tables:
        if not isinstance(tables, Mapping):
            raise ConfigError("models must be tables: [models.NAME] with kind = ...")
        specs = [spec(BASELINE, BASELINE)]
        for name, params in tables.items():
            if name == BASELINE:
                continue
            if not isinstance(params, Mapping) or "kind" not in params:
                raise ConfigError(f"[models.{name}] needs kind = one of {', '.join(KINDS)}")
            rest = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()}
            specs.append(spec(name, str(rest.pop("kind")), **rest))
        values["models"] = tuple(specs)
    try:
        return replace(base, **values)
    except TypeError as exc:
        raise ConfigError(f"bad model file value: {exc}") from None
