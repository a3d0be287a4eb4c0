"""``backtest --outcomes``: every forecast joined with its label, across cuts of the batch."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from tests.conftest import make_ticks
from tickcast.analysis.backtest import BATCH, run_backtest
from tickcast.online_model import CoreConfig
from tickcast.stream_processors import MemorySink
from tickcast.stream_processors.outcomes_file import SCHEMA, OutcomesFile


def test_every_forecast_meets_its_label_even_when_it_matures_in_a_later_cut(
    tmp_path: Path,
) -> None:
    config = CoreConfig(horizon=3)
    ticks = [asdict(t) for t in make_ticks(BATCH * 2 + 500, symbols=7)]  # three cuts
    memory, table = MemorySink(), OutcomesFile(tmp_path / "o.parquet")
    run_backtest(ticks, config, sinks=[memory, table])
    table.close()
    frame = pd.read_parquet(tmp_path / "o.parquet")
    assert len(frame) == table.rows == len(memory.forecasts)
    assert frame.realised_return.isna().sum() == 7 * 3 * len(config.forecasters)
    scored = pd.DataFrame(memory.outcomes)
    matured = frame.dropna(subset=["realised_return"])
    assert len(matured) == len(scored)
    matured = matured.assign(ts_ms=matured.ts.astype("int64"))
    merged = matured.merge(
        scored, left_on=["symbol", "ts_ms", "model"], right_on=["symbol", "ts", "model"]
    )
    assert len(merged) == len(scored)  # the same forecasts with the same outcomes
    for column in ("realised_return", "predicted_return", "inside", "p_up"):
        assert (merged[f"{column}_x"] == merged[f"{column}_y"]).all(), column
    assert matured.label_ts.gt(matured.ts).all()


def test_a_backtest_with_no_tick_still_writes_a_file_pandas_reads(tmp_path: Path) -> None:
    table = OutcomesFile(tmp_path / "empty.parquet")
    run_backtest([], CoreConfig(), sinks=[table])
    table.close()
    frame = pd.read_parquet(tmp_path / "empty.parquet")
    assert frame.empty
    assert list(frame.columns) == SCHEMA.names  # the same columns as a file with rows
