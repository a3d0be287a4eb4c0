"""The report: the ROC curve behind its direction plot, one ROC AUC for table and plot."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import make_ticks
from tickcast.online_model import CoreConfig
from tickcast.report import TABLE_COLUMNS, roc_curve


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


def test_the_report_gives_one_roc_auc_the_table_and_the_plot_agree_on(tmp_path: Path) -> None:
    """Zero returns (an unchanged price) are neither up nor down, for the table and the plot."""
    from tickcast.backtest import run_backtest
    from tickcast.report import exact_roc_auc, write_report
    from tickcast.stream_processors import MemorySink

    ticks = make_ticks(1500, symbols=1)
    for i in range(0, len(ticks), 5):  # every fifth tick repeats the price: a zero return
        ticks[i].price = ticks[i - 1].price if i else ticks[i].price
    memory = MemorySink()
    report = run_backtest([asdict(t) for t in ticks], CoreConfig(), sinks=[memory])
    write_report(tmp_path, report, memory.ticks, memory.forecasts, memory.outcomes)
    written = json.loads((tmp_path / "metrics.json").read_text())["pooled"]["direction"]
    exact = exact_roc_auc(pd.DataFrame(memory.outcomes), "direction")
    assert exact is not None
    assert written["roc_auc"] == pytest.approx(exact)
    page = (tmp_path / "index.html").read_text()
    row = re.search(r"<tr><td>direction</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    assert cells[TABLE_COLUMNS.index("roc_auc")] == f"{exact:.4g}"
    streamed = report.pooled["direction"]["roc_auc"]  # the stream's binned estimate
    assert streamed == pytest.approx(exact, abs=0.02)
