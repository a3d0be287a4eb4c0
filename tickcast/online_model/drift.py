"""Drift: what a detection records and the detectors' settings.

The detectors themselves are part of each symbol's compiled learner (``tickcast._core``), so
they replay and recover with the models they watch:

- concept drift: Page-Hinkley on each forecaster's absolute error in volatility units (the
  conformal score), so one threshold fits every symbol and bar size; or River's ADWIN;
- data drift: the population stability index (PSI) of each non-calendar feature against a
  reference, with a binned Kolmogorov-Smirnov test (the two CDFs compared at the bin edges);
- prediction drift: the same on the served forecast;
- bias: the served forecast's rolling mean signed error, as a t-statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickcast.contract import CONCEPT_DETECTORS as DETECTORS
from tickcast.contract import REACTIONS, ConceptDetector, Reaction
from tickcast.records import DriftEvent

__all__ = ["DETECTORS", "REACTIONS", "DriftConfig", "DriftEvent"]


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds and the reaction to concept drift.

    ``window``: the effective size (in samples) of the data and prediction checks' reference
    and current histograms; ``sample``: features enter the data check every this many ticks;
    ``boost``/``boost_labels``: boost_lr's learning-rate factor and how many labels it lasts.
    """

    reaction: Reaction = "log"
    detector: ConceptDetector = "page_hinkley"
    ph_delta: float = 0.05
    ph_threshold: float = 50.0
    ph_min_n: int = 100
    adwin_delta: float = 0.002
    window: int = 500
    psi: float = 0.25  # PSI above this, with a KS p-value below ks_p, is a shift
    ks_p: float = 0.001
    bias_t: float = 4.0
    sample: int = 5
    boost: float = 3.0
    boost_labels: int = 500
