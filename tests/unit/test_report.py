"""The report: the ROC curve behind its direction plot, one ROC AUC for table and plot."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_ticks
from tickcast.online_model import CoreConfig
from tickcast.report import TABLE_COLUMNS


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
