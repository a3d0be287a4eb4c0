"""The forecasters of a symbol's model set, all on the ``learn_one``/``predict_one`` protocol.

Every model forecasts the *standardised* return ``u = r / sigma`` (``sigma``: the running
volatility over the horizon when the forecast was made) from the scaled feature vector ``z``.
Scale-free targets keep one learning rate and one Huber threshold sensible for daily and for
second-level data alike; the learner multiplies back by ``sigma``.

The hot set (baselines, linear, Huber linear, logistic direction) is written as plain list
arithmetic sharing one scaler: River's dict-based StandardScaler|LinearRegression costs about
30 us per model per tick here, these cost a few. River supplies the opt-in heavier models
(a depth-bounded Hoeffding tree, SNARIMAX).
"""

from __future__ import annotations

import math
from typing import Any, Protocol

__all__ = [
    "AdaGrad",
    "Adam",
    "Direction",
    "Linear",
    "Mean",
    "Model",
    "Momentum",
    "RandomWalk",
    "RiverTree",
    "Scaler",
    "Snarimax",
    "SGD",
]

EXPECTED_ABS_NORMAL = math.sqrt(2.0 / math.pi)  # E|u| for a standard normal u


class Model(Protocol):
    n_inputs: int  # inputs the model fits: adjusted R2's penalty

    def predict_one(self, z: list[float]) -> float: ...
    def learn_one(self, z: list[float], u: float) -> None: ...
    def proba_up(self, z: list[float], u_hat: float) -> float: ...


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


class Scaler:
    """Per-feature running mean and variance (Welford), shared by every model of a symbol.

    >>> s = Scaler(2)
    >>> s.learn_transform([1.0, 5.0]), s.learn_transform([3.0, 5.0])
    ([0.0, 0.0], [1.0, 0.0])
    """

    def __init__(self, n_features: int) -> None:
        self.n = 0
        self.means = [0.0] * n_features
        self.m2 = [0.0] * n_features

    def learn_transform(self, x: list[float]) -> list[float]:
        """Fold ``x`` into the statistics, then return it standardised (0 where flat)."""
        self.n += 1
        n = self.n
        means, m2 = self.means, self.m2
        z = []
        for i, xi in enumerate(x):
            delta = xi - means[i]
            mean = means[i] + delta / n
            means[i] = mean
            m2[i] += delta * (xi - mean)
            var = m2[i] / n
            z.append((xi - mean) / math.sqrt(var) if var > 1e-24 else 0.0)
        return z


# Optimisers: update ``weights`` in place from ``grads`` (same length; the last slot is the
# intercept). State is plain lists so that it pickles.


class SGD:
    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr

    def step(self, weights: list[float], grads: list[float]) -> None:
        lr = self.lr
        for i, g in enumerate(grads):
            weights[i] -= lr * g


class Momentum:
    def __init__(self, lr: float = 0.01, rho: float = 0.9) -> None:
        self.lr = lr
        self.rho = rho
        self.velocity: list[float] = []

    def step(self, weights: list[float], grads: list[float]) -> None:
        if not self.velocity:
            self.velocity = [0.0] * len(weights)
        v, lr, rho = self.velocity, self.lr, self.rho
        for i, g in enumerate(grads):
            v[i] = rho * v[i] + lr * g
            weights[i] -= v[i]


class AdaGrad:
    def __init__(self, lr: float = 0.05, eps: float = 1e-8) -> None:
        self.lr = lr
        self.eps = eps
        self.g2: list[float] = []

    def step(self, weights: list[float], grads: list[float]) -> None:
        if not self.g2:
            self.g2 = [0.0] * len(weights)
        g2, lr, eps = self.g2, self.lr, self.eps
        for i, g in enumerate(grads):
            g2[i] += g * g
            weights[i] -= lr * g / (math.sqrt(g2[i]) + eps)


class Adam:
    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0
        self.m: list[float] = []
        self.v: list[float] = []

    def step(self, weights: list[float], grads: list[float]) -> None:
        if not self.m:
            self.m = [0.0] * len(weights)
            self.v = [0.0] * len(weights)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        lr = self.lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        m, v, eps = self.m, self.v, self.eps
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            weights[i] -= lr * m[i] / (math.sqrt(v[i]) + eps)


OPTIMIZERS: dict[str, type] = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "adam": Adam}
LOSSES = ("squared", "absolute", "huber")


class RandomWalk:
    """Forecasts no change: the baseline every other model must beat."""

    n_inputs = 0

    def predict_one(self, z: list[float]) -> float:
        return 0.0

    def learn_one(self, z: list[float], u: float) -> None:
        return None

    def proba_up(self, z: list[float], u_hat: float) -> float:
        return 0.5


class Mean:
    """Forecasts the running mean of the standardised returns seen so far."""

    n_inputs = 0

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0

    def predict_one(self, z: list[float]) -> float:
        return self.mean

    def learn_one(self, z: list[float], u: float) -> None:
        self.n += 1
        self.mean += (u - self.mean) / self.n

    def proba_up(self, z: list[float], u_hat: float) -> float:
        return normal_cdf(u_hat)


class Linear:
    """Online linear regression: squared, absolute or Huber loss, L1/L2, any optimiser above.

    >>> m = Linear(n_features=1, optimizer=SGD(lr=0.1))
    >>> for _ in range(200):
    ...     m.learn_one([1.0], 2.0); m.learn_one([-1.0], -2.0)
    >>> round(m.predict_one([0.5]), 2)
    1.0
    """

    def __init__(
        self,
        n_features: int,
        loss: str = "squared",
        optimizer: Any = None,
        l1: float = 0.0,
        l2: float = 0.0,
        huber_delta: float = 1.345,
        clip: float = 10.0,
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if l1 < 0 or l2 < 0:
            raise ValueError("l1 and l2 must not be negative")
        self.loss = loss
        self.optimizer = optimizer if optimizer is not None else SGD()
        self.l1 = l1
        self.l2 = l2
        self.huber_delta = huber_delta
        self.clip = clip
        self.n_inputs = n_features
        self.weights = [0.0] * (n_features + 1)  # the last one is the intercept

    def predict_one(self, z: list[float]) -> float:
        w = self.weights
        total = w[-1]
        for i, zi in enumerate(z):
            total += w[i] * zi
        return total

    def _residual_gradient(self, u_hat: float, u: float) -> float:
        err = u_hat - u
        if self.loss == "squared":
            grad = err
        elif self.loss == "absolute":
            grad = 1.0 if err > 0 else -1.0 if err < 0 else 0.0
        else:
            delta = self.huber_delta
            grad = delta if err > delta else -delta if err < -delta else err
        clip = self.clip
        return clip if grad > clip else -clip if grad < -clip else grad

    def learn_one(self, z: list[float], u: float) -> None:
        g = self._residual_gradient(self.predict_one(z), u)
        w, l1, l2 = self.weights, self.l1, self.l2
        if l1:
            grads = [g * zi + l2 * w[i] + (l1 if w[i] > 0 else -l1 if w[i] < 0 else 0.0)
                     for i, zi in enumerate(z)]  # fmt: skip
        elif l2:
            grads = [g * zi + l2 * w[i] for i, zi in enumerate(z)]
        else:
            grads = [g * zi for zi in z]
        grads.append(g)
        self.optimizer.step(w, grads)

    def proba_up(self, z: list[float], u_hat: float) -> float:
        return normal_cdf(u_hat)


class Direction(Linear):
    """Logistic regression of P(return > 0); its return forecast is (2p - 1) E|u|."""

    def __init__(self, n_features: int, optimizer: Any = None, l2: float = 0.0) -> None:
        super().__init__(n_features, optimizer=optimizer, l2=l2)

    def _probability(self, z: list[float]) -> float:
        score = super().predict_one(z)
        score = 30.0 if score > 30.0 else -30.0 if score < -30.0 else score
        return 1.0 / (1.0 + math.exp(-score))

    def predict_one(self, z: list[float]) -> float:
        return (2.0 * self._probability(z) - 1.0) * EXPECTED_ABS_NORMAL

    def learn_one(self, z: list[float], u: float) -> None:
        g = self._probability(z) - (1.0 if u > 0 else 0.0)
        w, l2 = self.weights, self.l2
        grads = [g * zi + l2 * w[i] for i, zi in enumerate(z)]
        grads.append(g)
        self.optimizer.step(w, grads)

    def proba_up(self, z: list[float], u_hat: float) -> float:
        return 0.5 + u_hat / (2.0 * EXPECTED_ABS_NORMAL)


class RiverTree:
    """River's Hoeffding tree regressor, depth-bounded (opt-in: about 45 us per tick)."""

    def __init__(self, names: list[str], max_depth: int = 6, grace_period: int = 200) -> None:
        from river import tree

        if not 1 <= max_depth <= 12:
            raise ValueError(f"max_depth must be within 1..12, got {max_depth}")
        self.names = names
        self.n_inputs = len(names)
        self.model = tree.HoeffdingTreeRegressor(
            max_depth=max_depth, grace_period=grace_period, leaf_prediction="adaptive"
        )

    def predict_one(self, z: list[float]) -> float:
        return float(self.model.predict_one(dict(zip(self.names, z, strict=True))))

    def learn_one(self, z: list[float], u: float) -> None:
        self.model.learn_one(dict(zip(self.names, z, strict=True)), u)

    def proba_up(self, z: list[float], u_hat: float) -> float:
        return normal_cdf(u_hat)


class Snarimax:
    """River's SNARIMAX on the series of matured standardised returns (opt-in)."""

    def __init__(self, horizon: int, p: int = 2, d: int = 0, q: int = 1) -> None:
        from river import time_series

        self.horizon = horizon
        self.n_inputs = p + q
        self.model = time_series.SNARIMAX(p=p, d=d, q=q)
        self.seen = 0

    def predict_one(self, z: list[float]) -> float:
        if not self.seen:
            return 0.0
        return float(self.model.forecast(horizon=self.horizon)[-1])

    def learn_one(self, z: list[float], u: float) -> None:
        self.model.learn_one(u)
        self.seen += 1

    def proba_up(self, z: list[float], u_hat: float) -> float:
        return normal_cdf(u_hat)
