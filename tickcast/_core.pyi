"""Types of the compiled core (``rust/src/bridge``): see there for what each part does. The
names it shares with Python are the contract's (``tickcast.contract``, generated)."""

from typing import Any, Final, Protocol

from tickcast.contract import (
    Detector,
    DriftKind,
    MetricName,
    Reaction,
    SummaryWindow,
    Table,
)

CONTRACT: str  # the digest of the contract this build was compiled from
STATE_FORMAT: int
AUC_BINS: int

class _Tick(Protocol):
    symbol: str
    ts: int
    seq: int
    price: float
    volume: float | None
    open: float | None
    high: float | None
    low: float | None
    close: float | None

class CoreForecast:
    """A forecast: models by index (``based_on`` the served forecast's selected model)."""

    symbol: Final[str]
    ts: Final[int]
    seq: Final[int]
    forecaster: Final[int]
    based_on: Final[int]
    price: Final[float]
    predicted_return: Final[float]
    predicted_price: Final[float]
    lower: Final[float]
    upper: Final[float]
    p_up: Final[float]

class CoreOutcome:
    """A matured forecast with its label, in return space."""

    symbol: Final[str]
    ts: Final[int]
    seq: Final[int]
    label_ts: Final[int]
    forecaster: Final[int]
    predicted_return: Final[float]
    realised_return: Final[float]
    lower_return: Final[float]
    upper_return: Final[float]
    inside: Final[bool]
    p_up: Final[float]

class CoreMetrics:
    """A forecaster's metrics over one window, by the contract's names."""

    symbol: Final[str]
    ts: Final[int]
    forecaster: Final[int]
    rolling: Final[bool]
    based_on: Final[int]
    values: Final[dict[MetricName, float]]

class CoreDrift:
    """A drift event (no forecaster: data drift)."""

    symbol: Final[str]
    ts: Final[int]
    forecaster: Final[int | None]
    detector: Final[Detector]
    kind: Final[DriftKind]
    feature: Final[str]
    value: Final[float]
    threshold: Final[float]
    reaction: Final[Reaction]

class Stepped:
    """One tick's step: its status (the contract's, by number) and what it wrote."""

    status: Final[int]
    forecasts: Final[list[CoreForecast]]
    outcomes: Final[list[CoreOutcome]]
    metrics: Final[list[CoreMetrics]]
    drift: Final[list[CoreDrift]]

class Spec:
    def __init__(self, resolved: dict[str, Any]) -> None: ...
    width: Final[int]
    has_externals: Final[bool]

class Progress:
    """How far a symbol's stream has got."""

    n_ticks: Final[int]
    n_labels: Final[int]
    n_duplicates: Final[int]
    n_late: Final[int]
    last_ts: Final[int | None]
    last_seq: Final[int]
    first_ts: Final[int | None]

class SymbolCore:
    def __init__(self, spec: Spec, externals: Any = None, seed: int = 0) -> None: ...
    def step(self, tick: _Tick) -> Stepped: ...
    externals: Final[Any]
    progress: Final[Progress]
    selected: Final[int]
    runner_up: Final[int]
    shrink: Final[float]
    checkpointed: tuple[int, int] | None
    boosted: Final[list[tuple[float, int] | None]]
    learning_rates: Final[list[float | None]]
    gradient_norms: Final[list[list[float] | None]]
    interval_quantiles: Final[list[float]]
    def inputs(self) -> list[int]: ...
    def summaries(self, window: SummaryWindow) -> list[dict[MetricName, float]]: ...
    def served_evidence(self) -> tuple[float, float]: ...
    def encode(self) -> bytes: ...
    @staticmethod
    def decode(spec: Spec, payload: bytes, externals: Any = None) -> SymbolCore: ...
    def adopt_learned(self, chosen: SymbolCore) -> None: ...

class Batch:
    def __init__(self, messages: bool = True) -> None: ...
    with_messages: Final[bool]
    symbols: Final[list[str]]
    n_messages: Final[int]
    def columns(self, table: Table, served: bool = False) -> dict[str, bytes]: ...
    def messages(self) -> list[tuple[bytes, bytes]]: ...
    def latest(self) -> list[tuple[int, int]]: ...
    def forecast_rows(self, rows: list[int]) -> list[CoreForecast]: ...
    def metric_columns(self) -> dict[str, bytes]: ...
    def metric_rows(self) -> list[CoreMetrics]: ...
    def drift_rows(self) -> list[CoreDrift]: ...
    def __len__(self) -> int: ...
    def rows(self, table: Table) -> int: ...

def step_batch(
    states: list[SymbolCore],
    ticks: list[Any],
    batch: Batch,
    start: int = 0,
    every_labels: int = 0,
    every_ms: int = 0,
    min_gap_ms: int = 0,
) -> tuple[bytes, bool]: ...
def pooled(states: list[SymbolCore]) -> list[dict[str, Any]]: ...
def feature_names(windows: list[int]) -> list[str]: ...
def contract() -> dict[str, Any]: ...

# The `testing` feature's (the development install's) functions, for the oracle tests.
def feature_stream(spec: Spec, ticks: list[Any]) -> list[tuple[list[float], list[float]]]: ...
def model_stream(
    spec: Spec, model: int, rows: list[tuple[list[float], float]]
) -> list[tuple[float, float]]: ...
def shift_stream(values: list[float], window: int) -> list[tuple[float, float] | None]: ...
def page_hinkley_stream(
    values: list[float], delta: float, threshold: float, min_n: int
) -> list[float | None]: ...
def quantile_stream(
    scores: list[float], alpha: float, step: float, prior: float
) -> list[float]: ...
def psi(expected: list[float], actual: list[float]) -> float: ...
def binned_ks_pvalue(expected: list[float], actual: list[float]) -> float: ...
