"""The ROC curve behind the report's direction plot."""

from __future__ import annotations

import numpy as np
import pytest

from tickcast.report import roc_curve


@pytest.mark.parametrize(
    ("score", "positive", "auc"),
    [
        ([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0], 1.0),  # every positive ranked first
        ([0.9, 0.8, 0.3, 0.1], [0, 0, 1, 1], 0.0),
        ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),  # one threshold: the diagonal
        ([0.9, 0.7, 0.6, 0.2], [1, 0, 1, 0], 0.75),
    ],
)
def test_roc_auc_of_small_cases(score: list[float], positive: list[int], auc: float) -> None:
    fpr, tpr, area = roc_curve(np.array(score), np.array(positive, dtype=bool))
    assert area == pytest.approx(auc)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0)
    assert np.all(np.diff(tpr) >= 0)
