"""The check_model contract, run over every model in the catalogue."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from tickcast.exceptions import ConfigError
from tickcast.online_model.features import feature_names
from tickcast.online_model.models import SGD, Adam, Direction, Linear
from tickcast.online_model.spec import (
    CATALOGUE,
    DEFAULT_MODELS,
    CoreConfig,
    ModelSpec,
    build_model,
    resolve_models,
)

NAMES = feature_names((5, 20))


def samples(n: int, seed: int = 3) -> list[tuple[list[float], float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        z = [rng.gauss(0, 1) for _ in NAMES]
        out.append((z, 0.8 * z[0] - 0.5 * z[1] + rng.gauss(0, 0.3)))
    return out


@pytest.fixture(params=sorted(CATALOGUE), ids=str)
def spec(request: pytest.FixtureRequest) -> ModelSpec:
    return CATALOGUE[request.param]


def test_model_does_not_mutate_its_input(spec: ModelSpec) -> None:
    model = build_model(spec, NAMES, horizon=1)
    for z, u in samples(50):
        before = list(z)
        model.predict_one(z)
        model.learn_one(z, u)
        assert z == before


def test_model_survives_pickling_with_identical_predictions(spec: ModelSpec) -> None:
    model = build_model(spec, NAMES, horizon=1)
    data = samples(300)
    for z, u in data[:200]:
        model.learn_one(z, u)
    clone = pickle.loads(pickle.dumps(model))
    for z, u in data[200:]:
        assert clone.predict_one(z) == model.predict_one(z)
        clone.learn_one(z, u)
        model.learn_one(z, u)


def test_model_is_deterministic(spec: ModelSpec) -> None:
    a, b = (build_model(spec, NAMES, horizon=1) for _ in range(2))
    for z, u in samples(200):
        assert a.predict_one(z) == b.predict_one(z)
        a.learn_one(z, u)
        b.learn_one(z, u)


def test_model_probability_of_up_is_a_probability(spec: ModelSpec) -> None:
    model = build_model(spec, NAMES, horizon=1)
    for z, u in samples(100):
        p = model.proba_up(z, model.predict_one(z))
        assert 0.0 <= p <= 1.0
        model.learn_one(z, u)


@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "adam"])
def test_linear_learns_a_linear_signal_with_every_loss_and_optimizer(
    loss: str, optimizer: str
) -> None:
    lr = 0.001 if optimizer == "momentum" else 0.01  # momentum steps lr / (1 - rho)
    spec = ModelSpec("m", "linear", (("loss", loss), ("optimizer", optimizer), ("lr", lr)))
    model = build_model(spec, NAMES, horizon=1)
    data = samples(4000)
    for z, u in data[:3000]:
        model.learn_one(z, u)
    mae = sum(abs(model.predict_one(z) - u) for z, u in data[3000:]) / 1000
    mae_zero = sum(abs(u) for _, u in data[3000:]) / 1000
    assert mae < 0.6 * mae_zero


def test_l1_drives_irrelevant_weights_toward_zero() -> None:
    plain, sparse = (
        Linear(len(NAMES), optimizer=SGD(0.01)),
        Linear(len(NAMES), optimizer=SGD(0.01), l1=0.01),
    )
    for z, u in samples(3000):
        plain.learn_one(z, u)
        sparse.learn_one(z, u)
    irrelevant = slice(2, len(NAMES))
    assert sum(map(abs, sparse.weights[irrelevant])) < sum(map(abs, plain.weights[irrelevant]))


def test_direction_learns_the_sign() -> None:
    model = Direction(len(NAMES), optimizer=Adam(0.01))
    data = samples(3000)
    for z, u in data[:2000]:
        model.learn_one(z, u)
    hits = sum((model.proba_up(z, model.predict_one(z)) > 0.5) == (u > 0) for z, u in data[2000:])
    assert hits / 1000 > 0.8


def test_bad_specs_fail_at_construction_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="loss must be one of"):
        build_model(ModelSpec("x", "linear", (("loss", "cubic"),)), NAMES, 1)
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        build_model(ModelSpec("x", "linear", (("optimizer", "lbfgs"),)), NAMES, 1)
    with pytest.raises(ConfigError, match="max_depth must be within"):
        build_model(ModelSpec("x", "tree", (("max_depth", 50),)), NAMES, 1)
    with pytest.raises(ConfigError, match="kind must be one of"):
        build_model(ModelSpec("x", "oracle"), NAMES, 1)
    with pytest.raises(ConfigError, match="unknown model"):
        resolve_models(["linear", "prophet"])
    with pytest.raises(ConfigError, match="horizon"):
        CoreConfig(horizon=0)


def test_random_walk_is_always_in_the_set_and_first() -> None:
    assert [m.name for m in resolve_models(["linear"])] == ["random_walk", "linear"]
    assert resolve_models(None) == DEFAULT_MODELS


def test_version_fingerprints_the_spec() -> None:
    spec = CATALOGUE["linear"]
    changed = ModelSpec(spec.name, spec.kind, (*spec.params[:-1], ("optimizer", "adam")))
    assert copy.deepcopy(spec).version == spec.version != changed.version
