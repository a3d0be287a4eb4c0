"""The core's configuration, validated when it is built: the horizon, the interval level, the
feature windows, the model set and the drift settings. :meth:`CoreConfig.resolved` hands the
compiled core (``tickcast._core``) the complete, checked configuration; models files
(:func:`config_from_mapping`) are read into one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from statistics import NormalDist
from typing import Any

from tickcast._core import CONTRACT, CoreForecast, Spec
from tickcast._core import feature_names as core_feature_names
from tickcast.contract import BASELINE, CALENDAR_FEATURES, DIGEST, SERVED
from tickcast.exceptions import ConfigError
from tickcast.online_model.drift import DETECTORS, REACTIONS, DriftConfig
from tickcast.online_model.model_specs import DEFAULT_MODELS, KINDS, ModelSpec, resolved_model, spec
from tickcast.records import Forecast

__all__ = ["CoreConfig", "config_from_mapping", "feature_names"]

if CONTRACT != DIGEST:  # a core compiled before the contract changed: its names may differ
    raise ImportError(
        f"tickcast's compiled core was built from contract {CONTRACT}, its Python side is "
        f"{DIGEST}: build the core again (make, or pip install -e .)"
    )


def feature_names(windows: tuple[int, ...]) -> list[str]:
    """Names of the feature vector for the given rolling windows, in vector order (the core's
    layout, declared in the contract)."""
    names: list[str] = core_feature_names(list(windows))
    return names


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

    def forecast(self, row: CoreForecast) -> Forecast:
        """A Forecast record from the core's forecast (models by index)."""
        model = self.models[row.based_on]
        return Forecast(
            row.symbol,
            row.ts,
            row.seq,
            self.horizon,
            self.forecasters[row.forecaster],
            model.fingerprint,
            model.name,
            row.price,
            row.predicted_return,
            row.predicted_price,
            row.lower,
            row.upper,
            self.level,
            row.p_up,
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
            "models": [resolved_model(m, len(names)) for m in self.models],
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
