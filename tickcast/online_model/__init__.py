"""The pure forecasting core: features, models, delayed-label learner, intervals, metrics.

Nothing here does I/O or reads a clock. The per-tick arithmetic is compiled
(``tickcast._core``, from ``rust/``); this package configures it and gives it records.
"""

from tickcast.contract import BASELINE
from tickcast.online_model.core_config import CoreConfig
from tickcast.online_model.learner import SERVED, StepResult, SymbolState, SymbolStates
from tickcast.online_model.model_specs import (
    DEFAULT_MODELS,
    OPTIONAL_MODELS,
    ModelSpec,
    resolve_models,
)

__all__ = [
    "BASELINE",
    "DEFAULT_MODELS",
    "OPTIONAL_MODELS",
    "SERVED",
    "CoreConfig",
    "ModelSpec",
    "StepResult",
    "SymbolState",
    "SymbolStates",
    "resolve_models",
]
