"""Model specifications: a named kind with its hyper-parameters, the catalogue of named
models, and the check that fills in every default and refuses what the core cannot run.

A spec is data (kind + parameters), so it can come from a CLI flag or a models file, be
compared, and fingerprint the model version that forecasts carry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from tickcast.contract import ACTIVATIONS, BASELINE, LOSSES, MODEL_KINDS, OPTIMIZERS, TARGETS
from tickcast.exceptions import ConfigError

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODELS",
    "KINDS",
    "OPTIONAL_MODELS",
    "ModelSpec",
    "resolve_models",
    "resolved_model",
    "spec",
]

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
    if values["target"] == "direction":  # a log loss, checked: nothing the core would read
        del values["loss"], values["huber_delta"]
    return values | {"hidden": list(hidden), "activations": activations}


def _take(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {key: params.pop(key, default) for key, default in defaults.items()}


def resolved_model(model_spec: ModelSpec, width: int) -> dict[str, Any]:
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
            _loss(values.pop("loss"), "direction")  # the only one: not for the core
            for key in ("l1", "l2"):
                values[key] = _not_negative(key, values[key])
        elif kind == "mlp":
            values |= {"kind": kind, **_network(params), **_optimizer(params)}
        elif kind == "tree":
            from tickcast.online_model.river_models import RiverTree

            values |= {"kind": "external", "n_inputs": width}
            RiverTree.check(**params)
            params.clear()
        elif kind == "snarimax":
            from tickcast.online_model.river_models import Snarimax

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
