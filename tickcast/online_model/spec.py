"""Model specifications and the core's configuration, validated when they are built.

A spec is data (kind + parameters), so it can come from a CLI flag or a config file, be
compared, and fingerprint the model version that forecasts carry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tickcast.exceptions import ConfigError
from tickcast.online_model import models
from tickcast.online_model.drift import DETECTORS, REACTIONS, DriftConfig
from tickcast.online_model.features import feature_names

__all__ = [
    "BASELINE",
    "DEFAULT_MODELS",
    "OPTIONAL_MODELS",
    "CoreConfig",
    "ModelSpec",
    "build_model",
    "config_from_mapping",
    "resolve_models",
]

BASELINE = "random_walk"
KINDS = ("random_walk", "mean", "linear", "direction", "tree", "snarimax")


@dataclass(frozen=True)
class ModelSpec:
    """A named model: ``kind`` picks the class, ``params`` its hyper-parameters."""

    name: str
    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def version(self) -> str:
        """A short fingerprint of kind and parameters: same spec, same version."""
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


def _optimizer(params: dict[str, Any]) -> Any:
    name = params.pop("optimizer", "sgd")
    if name not in models.OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(models.OPTIMIZERS)}, got {name!r}")
    lr = params.pop("lr", None)
    if lr is not None and not lr > 0:
        raise ConfigError(f"lr must be positive, got {lr}")
    cls = models.OPTIMIZERS[name]
    return cls() if lr is None else cls(lr=lr)


def build_model(model_spec: ModelSpec, names: list[str], horizon: int) -> models.Model:
    """Instantiate a spec for a feature vector with ``names``; bad parameters raise ConfigError."""
    params = dict(model_spec.params)
    kind = model_spec.kind
    try:
        if kind == "random_walk":
            return models.RandomWalk()
        if kind == "mean":
            return models.Mean()
        if kind == "linear":
            return models.Linear(len(names), optimizer=_optimizer(params), **params)
        if kind == "direction":
            return models.Direction(len(names), optimizer=_optimizer(params), **params)
        if kind == "tree":
            return models.RiverTree(names, **params)
        if kind == "snarimax":
            return models.Snarimax(horizon, **params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model {model_spec.name!r}: {exc}") from None
    raise ConfigError(f"model {model_spec.name!r}: kind must be one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class CoreConfig:
    """What the pure core needs; validated on construction.

    ``horizon``: ticks ahead; ``level``: nominal interval coverage; ``windows``: feature windows;
    ``metrics_window``: rolling window of the prequential metrics and champion selection;
    ``calibration_window``: conformal scores kept; ``champion_t``: the t-statistic of its gain
    over the random walk a model needs to be served (it keeps serving down to half of that);
    ``champion_hysteresis``: how much higher a challenger's t must be to replace the champion;
    ``min_outcomes``: scored forecasts before any switch;
    ``metrics_every``: ticks between metric snapshots per symbol.
    """

    horizon: int = 1
    level: float = 0.9
    models: tuple[ModelSpec, ...] = DEFAULT_MODELS
    windows: tuple[int, ...] = (5, 20)
    metrics_window: int = 250
    calibration_window: int = 500
    champion_t: float = 3.0
    champion_hysteresis: float = 0.5
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
        if len(set(names)) != len(names) or "champion" in names:
            raise ConfigError(f"model names must be unique and not 'champion': {names}")
        for name, value in (
            ("metrics_window", self.metrics_window),
            ("calibration_window", self.calibration_window),
            ("metrics_every", self.metrics_every),
        ):
            if value < 2:
                raise ConfigError(f"{name} must be at least 2, got {value}")
        if self.champion_t <= 0 or self.champion_hysteresis < 0:
            raise ConfigError("champion_t must be positive and champion_hysteresis not negative")
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
        names = feature_names(self.windows)
        for model_spec in self.models:  # bad hyper-parameters fail here, not at the first tick
            build_model(model_spec, names, self.horizon)


CONFIG_KEYS = {"horizon", "level", "windows", "metrics_window", "calibration_window",
               "champion_t", "champion_hysteresis", "min_outcomes", "metrics_every"}  # fmt: skip


def config_from_mapping(data: Mapping[str, Any], base: CoreConfig | None = None) -> CoreConfig:
    """A CoreConfig from a parsed model file (TOML): top-level settings and ``[models.NAME]``
    tables with ``kind`` and hyper-parameters. random_walk is always added first."""
    base = base or CoreConfig()
    unknown = sorted(set(data) - CONFIG_KEYS - {"models", "drift"})
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: models, drift, "
                          f"{', '.join(sorted(CONFIG_KEYS))}")  # fmt: skip
    values: dict[str, Any] = {k: data[k] for k in CONFIG_KEYS if k in data}
    if "windows" in values:
        values["windows"] = tuple(values["windows"])
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
