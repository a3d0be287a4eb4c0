"""The report: the ROC curve behind its direction plot, one ROC AUC for table and plot."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_ticks
from tickcast.analysis.report import TABLE_COLUMNS
from tickcast.online_model import CoreConfig


def test_the_report_gives_one_roc_auc_the_table_and_the_plot_agree_on(tmp_path: Path) -> None:
    """Zero returns (an unchanged price) are neither up nor down, for the table and the plot."""
    from tickcast.analysis.backtest import run_backtest
    from tickcast.analysis.report import exact_roc_auc, write_report
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


def test_learning_curves_show_a_model_that_memorises_each_tick_as_over_fitting(
    tmp_path: Path,
) -> None:
    """A step size that jumps to each outcome fits what it learned and nothing else: its
    in-sample error falls far below its prequential error; a timid one under-fits."""
    from tickcast.analysis.backtest import run_backtest
    from tickcast.analysis.report import write_report
    from tickcast.online_model.model_specs import CATALOGUE, spec
    from tickcast.stream_processors import MemorySink

    models = (
        CATALOGUE["random_walk"],
        spec("jumpy", "linear", optimizer="adagrad", lr=0.3),
        spec("timid", "linear", optimizer="sgd", lr=1e-6),
        CATALOGUE["mlp"],
    )
    memory = MemorySink()
    ticks = [asdict(t) for t in make_ticks(2000, symbols=2)]
    report = run_backtest(ticks, CoreConfig(models=models), sinks=[memory])
    result = report.to_dict()
    assert result["fit"]["jumpy"]["verdict"] == "over-fits"
    assert result["fit"]["timid"]["verdict"] == "under-fits"
    curve = result["learning_curves"]["SYN000"]["jumpy"]
    assert (
        len(curve["ts"]) == len(curve["mae"]) == len(curve["in_sample_mae"]) == 1000 // 100
    )  # a snapshot every 100 of its 1000 ticks
    assert all(a < b for a, b in zip(curve["in_sample_mae"][5:], curve["mae"][5:], strict=True))
    assert len(result["gradient_norms"]["SYN000"]["mlp"]) == 3  # two hidden layers and the output
    write_report(tmp_path, report, memory.ticks, memory.forecasts, memory.outcomes)
    page = (tmp_path / "index.html").read_text()
    assert "jumpy over-fits" in page
    assert {"learning_curves.png", "gradient_norms.png"} <= {p.name for p in tmp_path.iterdir()}
    assert json.loads((tmp_path / "metrics.json").read_text())["fit"] == result["fit"]


def test_learning_curves_stay_bounded_however_long_the_replay() -> None:
    from tickcast.analysis.backtest import LearningCurves

    curves = LearningCurves(points=50)
    for i in range(10_000):
        curves.add("AAPL", "mlp", i, [1.0, 0.5, 2.0, 1.0])
    series = curves.to_dict()["AAPL"]["mlp"]
    assert 50 <= len(series["ts"]) < 100
    assert series["ts"][0] == 0
    assert series["ts"][-1] > 9_000  # the whole replay, thinned evenly
    steps = {b - a for a, b in zip(series["ts"], series["ts"][1:], strict=False)}
    assert len(steps) == 1
