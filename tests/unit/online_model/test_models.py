"""The model contract, run over every model in the catalogue through the core, and the
compiled models' learning on fixed streams."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from tests.conftest import CODEC, make_ticks
from tests.factories import linear_samples
from tickcast._core import model_stream
from tickcast.exceptions import ConfigError
from tickcast.online_model import BASELINE, CoreConfig, ModelSpec, SymbolState
from tickcast.online_model.model_specs import CATALOGUE, DEFAULT_MODELS, resolve_models, spec


def alone(model: ModelSpec) -> CoreConfig:
    """A core running the random walk and ``model``."""
    return CoreConfig(models=(CATALOGUE[BASELINE], model) if model.name != BASELINE else (model,))


# The catalogue's networks learn without dropout; the contract must hold with it too.
DROPOUT = spec("mlp_dropout", "mlp", hidden=(8, 4), activation=("elu", "sigmoid"), dropout=0.3)
CONTRACT = CATALOGUE | {DROPOUT.name: DROPOUT}


@pytest.fixture(params=sorted(CONTRACT), ids=str)
def model(request: pytest.FixtureRequest) -> ModelSpec:
    return CONTRACT[request.param]


def test_a_step_does_not_mutate_its_tick(model: ModelSpec) -> None:
    state = SymbolState("SYN000", alone(model))
    for tick in make_ticks(300, symbols=1):
        before = copy.copy(tick)
        state.step(tick)
        assert tick == before


def test_the_state_codec_round_trips_mid_stream_with_identical_forecasts(model: ModelSpec) -> None:
    config = alone(model)
    ticks = make_ticks(700, symbols=1)
    live = SymbolState("SYN000", config)
    for tick in ticks[:400]:
        live.step(tick)
    clone = CODEC.decode(CODEC.encode(live), config)
    for tick in ticks[400:]:
        assert clone.step(tick).forecasts == live.step(tick).forecasts


def test_the_same_ticks_give_the_same_forecasts(model: ModelSpec) -> None:
    a, b = SymbolState("SYN000", alone(model)), SymbolState("SYN000", alone(model))
    for tick in make_ticks(400, symbols=1):
        assert a.step(tick).forecasts == b.step(tick).forecasts


def test_every_probability_of_up_is_a_probability(model: ModelSpec) -> None:
    state = SymbolState("SYN000", alone(model))
    for tick in make_ticks(400, symbols=1):
        assert all(0.0 <= f.p_up <= 1.0 for f in state.step(tick).forecasts)


def learned(model: ModelSpec, data: list[tuple[list[float], float]]) -> list[float]:
    """The model's forecast of each u before learning it."""
    return [u_hat for u_hat, _ in model_stream(alone(model).spec, 1, data)]


@pytest.mark.parametrize("loss", ["squared", "absolute", "huber"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adagrad", "adam"])
def test_linear_learns_a_linear_signal_with_every_loss_and_optimizer(
    loss: str, optimizer: str
) -> None:
    lr = 0.001 if optimizer == "momentum" else 0.01  # momentum steps lr / (1 - rho)
    data = linear_samples(4000)
    forecasts = learned(spec("m", "linear", loss=loss, optimizer=optimizer, lr=lr), data)
    mae = sum(abs(f - u) for f, (_, u) in zip(forecasts[3000:], data[3000:], strict=True)) / 1000
    mae_zero = sum(abs(u) for _, u in data[3000:]) / 1000
    assert mae < 0.6 * mae_zero


def test_direction_learns_the_sign() -> None:
    data = linear_samples(3000)
    rows = model_stream(alone(spec("d", "direction", optimizer="adam", lr=0.01)).spec, 1, data)
    hits = sum(
        (p_up > 0.5) == (u > 0) for (_, p_up), (_, u) in zip(rows[2000:], data[2000:], strict=True)
    )
    assert hits / 1000 > 0.8


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid", "elu"])
@pytest.mark.parametrize("target", ["return", "direction"])
def test_a_network_learns_a_linear_signal_with_every_activation(
    activation: str, target: str
) -> None:
    data = linear_samples(4000)
    network = spec("n", "mlp", hidden=(8,), activation=activation, target=target, lr=0.01)
    rows = model_stream(
        alone(replace(network, params=(*network.params, ("optimizer", "adam")))).spec, 1, data
    )
    tail = list(zip(rows[3000:], data[3000:], strict=True))
    if target == "return":
        mae = sum(abs(u_hat - u) for (u_hat, _), (_, u) in tail) / len(tail)
        assert mae < 0.7 * sum(abs(u) for _, (_, u) in tail) / len(tail)
    else:
        assert sum((p_up > 0.5) == (u > 0) for (_, p_up), (_, u) in tail) / len(tail) > 0.8


def test_a_network_reports_each_layers_gradient_norm() -> None:
    state = SymbolState("SYN000", alone(CATALOGUE["mlp"]))
    for tick in make_ticks(300, symbols=1):
        state.step(tick)
    baseline, norms = state.gradient_norms
    assert baseline is None
    assert len(norms) == 3
    assert all(n > 0 for n in norms)


def test_bad_specs_fail_at_construction_with_the_reason() -> None:
    def core(*models: ModelSpec) -> CoreConfig:
        return CoreConfig(models=(CATALOGUE[BASELINE], *models))

    with pytest.raises(ConfigError, match="loss 'cubic' does not apply; choose 'squared'"):
        core(spec("x", "linear", loss="cubic"))
    with pytest.raises(ConfigError, match="loss 'log' does not apply to a return target"):
        core(spec("x", "linear", loss="log"))
    with pytest.raises(ConfigError, match="loss 'absolute' does not apply to a direction"):
        core(spec("x", "direction", loss="absolute"))
    with pytest.raises(ConfigError, match="loss 'squared' does not apply to a direction"):
        core(spec("x", "mlp", target="direction", loss="squared"))
    with pytest.raises(ConfigError, match="activation must be one of"):
        core(spec("x", "mlp", activation="swish"))
    with pytest.raises(ConfigError, match="one per hidden layer"):
        core(spec("x", "mlp", hidden=(4, 4), activation=("relu",)))
    with pytest.raises(ConfigError, match="hidden must be 1 to 4 layer sizes"):
        core(spec("x", "mlp", hidden=(0,)))
    with pytest.raises(ConfigError, match=r"dropout must be within \[0, 1\)"):
        core(spec("x", "mlp", dropout=1.0))
    with pytest.raises(ConfigError, match="optimizer must be one of"):
        core(spec("x", "linear", optimizer="lbfgs"))
    with pytest.raises(ConfigError, match="max_depth must be within"):
        core(spec("x", "tree", max_depth=50))
    with pytest.raises(ConfigError, match="kind must be one of"):
        core(spec("x", "oracle"))
    with pytest.raises(ConfigError, match=r"unknown parameter.* rho for kind direction"):
        core(spec("x", "direction", rho=0.1))
    with pytest.raises(ConfigError, match="lr must be a positive number"):
        core(spec("x", "linear", lr=-1))
    with pytest.raises(ConfigError, match="unknown model"):
        resolve_models(["linear", "prophet"])
    with pytest.raises(ConfigError, match="horizon"):
        CoreConfig(horizon=0)


def test_random_walk_is_always_in_the_set_and_first() -> None:
    assert [m.name for m in resolve_models(["linear"])] == ["random_walk", "linear"]
    assert resolve_models(None) == DEFAULT_MODELS


def test_version_fingerprints_the_spec() -> None:
    linear = CATALOGUE["linear"]
    changed = ModelSpec(linear.name, linear.kind, (*linear.params[:-1], ("optimizer", "adam")))
    assert copy.deepcopy(linear).fingerprint == linear.fingerprint != changed.fingerprint
    assert replace(linear).fingerprint == linear.fingerprint
