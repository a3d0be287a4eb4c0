"""Generated from contract/contract.toml by contract/generate.py (make contract): do not edit.

The names and numbers the compiled core and Python share (see contract.toml)."""

from dataclasses import dataclass
from typing import Final, Literal

DIGEST: Final = "0e8c966d5b41b7e5"
STATE_FORMAT: Final = 4
SERVED: Final = "served"
BASELINE: Final = "random_walk"

ModelKind = Literal["random_walk", "mean", "linear", "direction", "mlp", "external"]
MODEL_KINDS: Final[tuple[ModelKind, ...]] = (
    "random_walk",
    "mean",
    "linear",
    "direction",
    "mlp",
    "external",
)

Target = Literal["return", "direction"]
TARGETS: Final[tuple[Target, ...]] = ("return", "direction")

Loss = Literal["squared", "absolute", "huber"]
LOSSES: Final[tuple[Loss, ...]] = ("squared", "absolute", "huber")

Activation = Literal["linear", "relu", "tanh", "sigmoid", "elu"]
ACTIVATIONS: Final[tuple[Activation, ...]] = ("linear", "relu", "tanh", "sigmoid", "elu")

OptimizerKind = Literal["sgd", "momentum", "adagrad", "adam"]
OPTIMIZER_KINDS: Final[tuple[OptimizerKind, ...]] = ("sgd", "momentum", "adagrad", "adam")

ConceptDetector = Literal["page_hinkley", "adwin"]
CONCEPT_DETECTORS: Final[tuple[ConceptDetector, ...]] = ("page_hinkley", "adwin")

Detector = Literal["page_hinkley", "adwin", "psi_ks", "bias_t"]
DETECTORS: Final[tuple[Detector, ...]] = ("page_hinkley", "adwin", "psi_ks", "bias_t")

DriftKind = Literal["concept", "data", "prediction", "bias"]
DRIFT_KINDS: Final[tuple[DriftKind, ...]] = ("concept", "data", "prediction", "bias")

Reaction = Literal["log", "reset", "boost_lr"]
REACTIONS: Final[tuple[Reaction, ...]] = ("log", "reset", "boost_lr")

Status = Literal["ok", "duplicate", "late"]
STATUSES: Final[tuple[Status, ...]] = ("ok", "duplicate", "late")

SummaryWindow = Literal["rolling", "cumulative"]
SUMMARY_WINDOWS: Final[tuple[SummaryWindow, ...]] = ("rolling", "cumulative")

Table = Literal["ticks", "forecasts", "labels", "model_metrics", "drift_events"]
TABLES: Final[tuple[Table, ...]] = ("ticks", "forecasts", "labels", "model_metrics", "drift_events")

OPTIMIZERS: Final[dict[OptimizerKind, dict[str, float]]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "rho": 0.9},
    "adagrad": {"lr": 0.05, "eps": 1e-08},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08},
}

MetricName = Literal[
    "n",
    "mae",
    "mse",
    "rmse",
    "r2",
    "adj_r2",
    "r2_oos",
    "mae_ratio_vs_random_walk",
    "hit_rate",
    "coverage",
    "interval_score",
    "bias",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "in_sample_mae",
    "grad_norm_input",
    "grad_norm_output",
]
METRIC_NAMES: Final[tuple[MetricName, ...]] = (
    "n",
    "mae",
    "mse",
    "rmse",
    "r2",
    "adj_r2",
    "r2_oos",
    "mae_ratio_vs_random_walk",
    "hit_rate",
    "coverage",
    "interval_score",
    "bias",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "in_sample_mae",
    "grad_norm_input",
    "grad_norm_output",
)
N_SCORES: Final = 18
AUC_BINS: Final = 32

N_LAGS: Final = 3
EMA_SPANS: Final = (12, 26)
REST_FEATURES: Final = ("rsi", "volume_z", "range", "tod_sin", "tod_cos", "dow_sin", "dow_cos")
CALENDAR_FEATURES: Final = ("tod_sin", "tod_cos", "dow_sin", "dow_cos")

ENTRIES_FIELD: Final = "forecasts"
SHARED_FIELDS: Final = ("symbol", "ts", "seq", "horizon", "price", "level")
PER_MODEL_FIELDS: Final = (
    "model",
    "model_fingerprint",
    "based_on",
    "predicted_return",
    "predicted_price",
    "lower",
    "upper",
    "p_up",
)


@dataclass(slots=True)
class MetricRow:
    """A snapshot of one forecaster's prequential scores at event time ``ts``, over the
    rolling window or since the start (``window``); ``based_on``: the model the
    forecaster is (for the served forecast, the model it was selected from)."""

    symbol: str
    ts: int
    model: str
    window: SummaryWindow
    based_on: str
    n: int
    mae: float
    mse: float
    rmse: float
    r2: float
    adj_r2: float
    r2_oos: float
    mae_ratio_vs_random_walk: float
    hit_rate: float
    coverage: float
    interval_score: float
    bias: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    log_loss: float
    in_sample_mae: float
    grad_norm_input: float
    grad_norm_output: float
