"""Oracle tests: each hand-written statistic or model of the compiled core against a well-kept
library on a fixed stream. They stay hand-written because one River call per tick and model
costs more than the whole core's step (bench/core.py); these tests keep them honest."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from river import drift, linear_model, optim

from tests.factories import WIDTH, linear_samples
from tickcast._core import model_stream, page_hinkley_stream, quantile_stream
from tickcast.online_model import BASELINE, CoreConfig, ModelSpec
from tickcast.online_model.model_specs import CATALOGUE, spec


def compiled(model: ModelSpec, rows: list[tuple[list[float], float]]) -> list[tuple[float, float]]:
    config = CoreConfig(models=(CATALOGUE[BASELINE], model))
    return model_stream(config.spec, 1, rows)


def river_stream(model: object, rows: list[tuple[list[float], float]], up: bool) -> list[float]:
    out = []
    for z, u in rows:
        x = dict(enumerate(z))
        out.append(model.predict_proba_one(x)[True] if up else model.predict_one(x))  # type: ignore[attr-defined]
        model.learn_one(x, u > 0 if up else u)  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(("l2", "clip"), [(0.0, 10.0), (0.01, 10.0), (0.0, 0.2)])
def test_linear_regression_with_sgd_is_rivers(l2: float, clip: float) -> None:
    """River's squared loss is (y - y_hat)^2, ours half of it: its gradient is twice ours, so
    River with half our step, twice our L2 and twice our clip takes the very same steps."""
    rows = linear_samples(3000, seed=11, intercept=0.1)
    lr = 0.01
    ours = [
        u_hat
        for u_hat, _ in compiled(
            spec("m", "linear", loss="squared", optimizer="sgd", lr=lr, l2=l2, clip=clip), rows
        )
    ]
    river = linear_model.LinearRegression(
        optimizer=optim.SGD(lr / 2), intercept_lr=lr / 2, l2=2 * l2, clip_gradient=2 * clip
    )
    np.testing.assert_allclose(ours, river_stream(river, rows, up=False), rtol=1e-9, atol=1e-12)


def test_logistic_regression_with_sgd_is_rivers() -> None:
    rows = linear_samples(3000, seed=12, intercept=0.1)
    lr, l2 = 0.02, 0.001
    ours = [
        p_up for _, p_up in compiled(spec("d", "direction", optimizer="sgd", lr=lr, l2=l2), rows)
    ]
    river = linear_model.LogisticRegression(optimizer=optim.SGD(lr), intercept_lr=lr, l2=l2)
    np.testing.assert_allclose(ours, river_stream(river, rows, up=True), rtol=1e-9, atol=1e-12)


def test_page_hinkley_fires_where_rivers_does() -> None:
    rng = random.Random(5)
    values = [abs(rng.gauss(0, 1)) for _ in range(3000)]
    values += [abs(rng.gauss(0, 1)) * 3 for _ in range(2000)]  # the errors triple
    delta, threshold, min_n = 0.05, 50.0, 100
    ours = [
        i
        for i, hit in enumerate(page_hinkley_stream(values, delta, threshold, min_n))
        if hit is not None
    ]
    detector = drift.PageHinkley(
        min_instances=min_n, delta=delta, threshold=threshold, alpha=1.0, mode="up"
    )
    river = []
    for i, value in enumerate(values):
        detector.update(value)
        if detector.drift_detected:
            river.append(i)
    assert ours == river
    assert ours  # found
    assert ours[0] > 3000  # after the change, not before


def test_interval_quantile_tracks_numpys_quantile_and_misses_at_alpha() -> None:
    rng = np.random.default_rng(3)
    scores = np.abs(rng.standard_t(4, 40_000))  # heavy-tailed scores
    alpha = 0.1
    q = np.array(quantile_stream(scores.tolist(), alpha, 0.05, 1.645))
    assert np.mean(scores > q) == pytest.approx(alpha, abs=0.005)
    assert q[-10_000:].mean() == pytest.approx(np.quantile(scores, 1 - alpha), rel=0.05)


def numpy_linear(rows: list[tuple[list[float], float]], step: object) -> list[float]:
    """Online least squares written out in NumPy: forecast, then the gradient of half the
    squared error over the weights and the intercept (the last slot), then ``step``."""
    w = np.zeros(WIDTH + 1)
    out = []
    for z, u in rows:
        x = np.append(z, 1.0)
        u_hat = float(w @ x)
        out.append(u_hat)
        w = step(w, np.clip(u_hat - u, -10.0, 10.0) * x)  # type: ignore[operator]
    return out


def momentum(lr: float, rho: float) -> object:
    velocity = np.zeros(WIDTH + 1)

    def step(w: np.ndarray, g: np.ndarray) -> np.ndarray:
        velocity[:] = rho * velocity + lr * g
        return w - velocity

    return step


def adagrad(lr: float, eps: float) -> object:
    g2 = np.zeros(WIDTH + 1)

    def step(w: np.ndarray, g: np.ndarray) -> np.ndarray:
        g2[:] += g * g
        return w - lr * g / (np.sqrt(g2) + eps)

    return step


def adam(lr: float, beta1: float, beta2: float, eps: float) -> object:
    """Kingma and Ba's Adam, its bias corrections folded into the step size (their section 2)."""
    m, v, t = np.zeros(WIDTH + 1), np.zeros(WIDTH + 1), [0]

    def step(w: np.ndarray, g: np.ndarray) -> np.ndarray:
        t[0] += 1
        m[:] = beta1 * m + (1 - beta1) * g
        v[:] = beta2 * v + (1 - beta2) * g * g
        rate = lr * np.sqrt(1 - beta2 ** t[0]) / (1 - beta1 ** t[0])
        return w - rate * m / (np.sqrt(v) + eps)

    return step


@pytest.mark.parametrize(
    ("optimizer", "params", "step"),
    [
        ("momentum", {"lr": 0.001, "rho": 0.9}, momentum),
        ("adagrad", {"lr": 0.05, "eps": 1e-8}, adagrad),
        ("adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}, adam),
    ],
    ids=["momentum", "adagrad", "adam"],
)
def test_the_optimizers_take_their_textbook_steps(
    optimizer: str, params: dict[str, float], step: Any
) -> None:
    rows = linear_samples(2000, seed=13, intercept=0.1)
    model = spec("m", "linear", loss="squared", optimizer=optimizer, **params)
    ours = [u_hat for u_hat, _ in compiled(model, rows)]
    expected = numpy_linear(rows, step(*params.values()))
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-12)
