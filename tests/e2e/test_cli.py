"""The `tickcast` command as users run it: backtest, replay, demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.eventually import eventually
from tests.factories import write_long_csv, write_yfinance_csv
from tests.isolated import isolated_env

pytestmark = pytest.mark.e2e
TICKCAST = str(Path(sys.executable).with_name("tickcast"))
METRIC_KEYS = {
    "n",
    "mae",
    "rmse",
    "r2",
    "r2_oos",
    "mae_ratio_vs_random_walk",
    "hit_rate",
    "coverage",
    "interval_score",
    "bias",
}


def tickcast(*args: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = isolated_env(tmp=tmp_path, inherit=True)
    return subprocess.run(
        [TICKCAST, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def test_backtest_json_on_a_yfinance_daily_csv(tmp_path: Path) -> None:
    path = write_yfinance_csv(tmp_path / "download.csv", n=400)
    result = tickcast("backtest", str(path), "--symbol", "SPY", "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report["symbols"]) == ["SPY"]
    per_model = report["symbols"]["SPY"]
    assert set(per_model) == {"random_walk", "mean", "linear", "huber", "direction", "served"}
    for metrics in per_model.values():
        assert metrics.keys() >= METRIC_KEYS
        assert metrics["n"] == 399
    assert per_model["random_walk"]["mae_ratio_vs_random_walk"] == 1.0
    assert report["counts"] == {"ok": 400}


def test_backtest_json_on_a_long_file_with_several_symbols(tmp_path: Path) -> None:
    path = write_long_csv(tmp_path / "ticks.csv", ["AAPL", "2330.TW", "^GSPC"], n=300)
    result = tickcast("backtest", str(path), "--json", "--horizon", "2", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["symbols"]) == ["2330.TW", "AAPL", "^GSPC"]
    assert report["horizon"] == 2
    assert report["pooled"]["served"]["n"] == 3 * 298


def test_backtest_reports_bad_rows_and_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    good = write_long_csv(tmp_path / "good.csv", ["AAPL"], n=50).read_text()
    path.write_text(good + "AAPL,2024-03-02T00:00:00Z,NaN,1\nAAPL,2024-03-02T00:00:01Z,-4,1\n")
    result = tickcast("backtest", str(path), "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"] == {"ok": 50, "invalid": 2}
    assert report["invalid_reasons"] == {"bad_price": 2}  # bounded codes, as Prometheus counts
    assert report["invalid_examples"] == {"bad_price": "price is NaN"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.csv"], "nope.csv: no such file"),
        (["--models", "linear,prophet", "--sample"], "unknown model(s) prophet"),
        ([], "give tick files, or --sample"),
    ],
)
def test_backtest_errors_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = tickcast("backtest", *args, tmp_path=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_replay_synthetic_reports_its_rate(tmp_path: Path) -> None:
    result = tickcast("replay", "--synthetic", "3000", "--symbols", "5", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ticks"] == 3000
    assert summary["counts"] == {"ok": 3000}
    assert summary["ticks_per_s"] > 0
    assert "tickcast replay: clickhouse=chdb://" in result.stderr  # the one startup line


def test_demo_serves_forecasts_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKCAST_")}
    log = tmp_path / "demo.log"
    proc = subprocess.Popen(  # the defaults, as `make demo` runs it: chdb://./data/olap
        [TICKCAST, "demo", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        last = "2018-02-06T21:00:00Z"  # AAPL's last tick: the replay (served meanwhile) is done

        def served() -> dict[str, Any] | None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/forecasts/AAPL", timeout=2)
            except httpx.TransportError:
                return None
            body: dict[str, Any] = response.json() if response.status_code == 200 else {}
            return body if body.get("ts") == last else None

        body = eventually(served, 90, "the demo serving AAPL's last forecast")
        assert body["symbol"] == "AAPL"
        history = httpx.get(f"http://127.0.0.1:{port}/forecasts/AAPL/history?limit=3").json()
        assert len(history) == 3
        # the replay's end: its last checkpoints are in MLflow
        eventually(lambda: "replayed" in log.read_text(), 90, "the end of the replay")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    stderr = log.read_text()
    assert proc.returncode == 0, stderr
    assert "replayed 12570 ticks" in stderr
    assert (tmp_path / "data" / "olap").is_dir()


def test_demo_without_serving_prints_a_summary_and_exits(tmp_path: Path) -> None:
    result = tickcast("demo", "--no-serve", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "forecasts for 10 symbols: AAPL, AMZN" in result.stderr.replace("\n", " ")


def test_replay_registers_checkpoints_that_models_commands_list_promote_and_roll_back(
    tmp_path: Path,
) -> None:
    replay = tickcast("replay", "--synthetic", "2400", "--symbols", "2", tmp_path=tmp_path)
    assert replay.returncode == 0, replay.stderr
    listed = tickcast("models", "list", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "SYN000" in listed.stdout
    assert "SYN001" in listed.stdout
    shown = tickcast("models", "show", "SYN000", tmp_path=tmp_path)
    assert "1199" in shown.stdout  # the final checkpoint's learned ticks
    promoted = tickcast("models", "promote", "SYN000", "1", tmp_path=tmp_path)
    assert promoted.returncode == 0, promoted.stderr
    assert "-> v1" in promoted.stderr
    oldest = tickcast("models", "rollback", "SYN000", tmp_path=tmp_path)
    assert oldest.returncode == 2
    assert "oldest" in oldest.stderr
    missing = tickcast("models", "promote", "SYN000", "99", tmp_path=tmp_path)
    assert missing.returncode == 2
    assert "error" in missing.stderr


def test_models_file_sets_the_model_set_and_bad_files_fail_in_one_line(tmp_path: Path) -> None:
    good = tmp_path / "models.toml"
    good.write_text('horizon = 2\n[models.fast]\nkind = "linear"\noptimizer = "adam"\n')
    path = write_yfinance_csv(tmp_path / "download.csv", n=200)
    result = tickcast(
        "backtest",
        str(path),
        "--symbol",
        "SPY",
        "--json",
        "--models-file",
        str(good),
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["horizon"] == 2
    assert set(report["symbols"]["SPY"]) == {"random_walk", "fast", "served"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[models.fast]\nkind = "linear"\nloss = "cubic"\n')
    failed = tickcast(
        "backtest", str(path), "--symbol", "SPY", "--models-file", str(bad), tmp_path=tmp_path
    )
    assert failed.returncode == 2
    assert "loss 'cubic' does not apply" in failed.stderr


def test_backtest_report_writes_plots_a_page_and_an_mlflow_run(tmp_path: Path) -> None:
    path = write_yfinance_csv(tmp_path / "spy.csv", n=500)
    out = tmp_path / "report"
    result = tickcast(
        "backtest", str(path), "--symbol", "SPY", "--report", str(out), tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [  # no network in the default set: no gradient norms to plot
        "coverage.png",
        "direction_roc.png",
        "learning_curves.png",
        "price_SPY.png",
        "rolling_mae_ratio.png",
    ]
    for name in pngs:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 10_000  # a drawn figure, not an empty canvas
    page = (out / "index.html").read_text()
    assert all(f'src="{name}"' in page for name in pngs)
    assert "<td>served</td>" in page
    assert "Over- and under-fitting" in page
    assert json.loads((out / "metrics.json").read_text())["symbols"]["SPY"]["served"]["n"] > 0
    assert "logged to MLflow" in result.stderr
    run_id = result.stderr.split(" as run ")[1].split()[0]
    from tickcast.stores.registry import Registry

    client = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}").client
    run = client.get_run(run_id)
    assert run.data.metrics["served.mae"] > 0
    assert {a.path for a in client.list_artifacts(run_id, "report")} >= {
        "report/index.html",
        "report/metrics.json",
        "report/price_SPY.png",
    }


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["replay", "--synthetic", "10", "--speed", "-1"], {}, "Invalid value for '--speed'"),
        (["replay", "--synthetic", "10", "--speed", "nan"], {}, "Invalid value for '--speed'"),
        (["replay", "--synthetic", "-5"], {}, "Invalid value for '--synthetic'"),
        (["replay", "--synthetic", "10", "--symbols", "0"], {}, "Invalid value for '--symbols'"),
        (["backtest", "--sample", "--horizon", "0"], {}, "horizon must be within 1..10000"),
        (["backtest", "--sample", "--level", "0"], {}, "interval level must be within"),
        (["fetch", "AAPL"], {}, "AAPL: yfinance could not fetch it"),
        (
            ["models", "list"],
            {"TICKCAST_PARTITIONS": "0"},
            "TICKCAST_PARTITIONS='0': Input should be greater",
        ),
        (
            ["backtest", "--sample"],
            {"TICKCAST_HORIZON": "abc"},
            "TICKCAST_HORIZON='abc': Input should be a valid integer",
        ),
        (
            ["replay"],
            {"TICKCAST_MAX_AHEAD_S": "nan"},
            "TICKCAST_MAX_AHEAD_S='nan': Input should be a finite",
        ),
    ],
    ids=[
        "speed-negative",
        "speed-nan",
        "synthetic-negative",
        "symbols-zero",
        "horizon-zero",
        "level-zero",
        "fetch-offline",
        "env-partitions",
        "env-horizon",
        "env-nan",
    ],
)
def test_bad_input_is_an_error_message_and_status_2_never_a_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = subprocess.run(
        [TICKCAST, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "TICKCAST_CLICKHOUSE_URL": f"chdb://{tmp_path / 'olap'}", **env},
    )
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr


def test_the_backtest_table_shows_every_metric(tmp_path: Path) -> None:
    result = tickcast("backtest", "--sample", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    header = result.stdout
    for column in ("mse", "rmse", "adj_r2", "r2_oos", "precision", "recall", "f1", "roc_auc"):
        assert f" {column} " in header, column


NETWORKS = """
[models.mlp]
kind = "mlp"
hidden = [16, 8]
activation = ["elu", "tanh"]
dropout = 0.1

[models.mlp_direction]
kind = "mlp"
target = "direction"
loss = "log"
hidden = [8]
activation = "relu"
optimizer = "adagrad"
lr = 0.01
"""


def test_backtest_runs_networks_from_a_models_file_and_writes_every_outcome(
    tmp_path: Path,
) -> None:
    import pandas as pd

    models = tmp_path / "networks.toml"
    models.write_text(NETWORKS)
    out = tmp_path / "outcomes.parquet"
    args = ("--sample", "--models-file", str(models), "--json", "--outcomes", str(out))
    result = tickcast("backtest", *args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["models"] == ["random_walk", "mlp", "mlp_direction", "served"]
    assert report["pooled"]["mlp_direction"]["log_loss"] > 0
    layers = {len(n) for symbol in report["gradient_norms"].values() for n in symbol.values()}
    assert layers == {2, 3}  # mlp_direction: one hidden layer; mlp: two
    assert set(report["fit"]) == {"mlp", "mlp_direction"}
    assert report["learning_curves"]["AAPL"]["mlp"]["in_sample_mae"]
    frame = pd.read_parquet(out)
    ticks = report["counts"]["ok"]
    assert len(frame) == ticks * 4  # one row per forecast of every forecaster
    assert frame.realised_return.isna().sum() == len(report["symbols"]) * 4  # the last ticks
    served = frame[frame.model == "served"].dropna(subset=["realised_return"])
    assert served.inside.mean() == pytest.approx(report["pooled"]["served"]["coverage"])
    assert f"outcomes: {out} ({len(frame)} forecasts)" in result.stderr.replace("\n", "")


GRID = """
[models.linear]
kind = "linear"
optimizer = "sgd"

[models.linear.grid]
lr = [0.0001, 0.002]
loss = ["squared", "huber"]

[models.mlp]
kind = "mlp"
hidden = [8]

[models.mlp.grid]
activation = ["tanh", "relu"]
"""


def test_tune_on_a_30_year_yfinance_file_writes_a_spec_that_a_replay_uses(tmp_path: Path) -> None:
    path = write_yfinance_csv(tmp_path / "spy.csv", n=7800, start=date(1995, 1, 2))
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    tuned, table = tmp_path / "tuned.toml", tmp_path / "tune.json"
    args = ("--models-file", str(grid), "--folds", "3", "--out", str(tuned))
    result = tickcast(
        "tune", str(path), "--symbol", "SPY", *args, "--json-out", str(table), tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "candidates by mean MAE ratio" in result.stdout
    ranking = json.loads(table.read_text())["ranking"]
    assert len(ranking) == 6
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4, 5, 6]
    assert all(len(r["folds"]) == 3 for r in ranking)
    best = {r["model"]: r for r in reversed(ranking)}  # each model's best, as ranked
    import tomllib

    spec = tomllib.loads(tuned.read_text())
    assert spec["models"]["linear"]["lr"] == best["linear"]["grid"]["lr"]
    assert spec["models"]["mlp"]["activation"] == best["mlp"]["grid"]["activation"]
    replay = tickcast(
        "replay", str(path), "--symbol", "SPY", "--models-file", str(tuned), tmp_path=tmp_path
    )
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["counts"] == {"ok": 7800}
    again = tickcast(
        "backtest",
        str(path),
        "--symbol",
        "SPY",
        "--models-file",
        str(tuned),
        "--json",
        tmp_path=tmp_path,
    )
    assert set(json.loads(again.stdout)["symbols"]["SPY"]) == {
        "random_walk",
        "linear",
        "mlp",
        "served",
    }


def test_tune_on_the_sample_and_a_grid_too_short_for_its_folds(tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID)
    written = ("--out", str(tmp_path / "tuned.toml"), "--json-out", str(tmp_path / "t.json"))
    result = tickcast("tune", "--sample", "--models-file", str(grid), *written, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / "tuned.toml").unlink()
    short = write_yfinance_csv(tmp_path / "short.csv", n=20)
    args = (str(short), "--symbol", "SPY", "--models-file", str(grid), "--folds", "5")
    failed = tickcast("tune", *args, *written, tmp_path=tmp_path)
    assert failed.returncode == 2
    message = failed.stderr.replace("\n", " ")
    assert "5 folds with a gap of 1 tick(s) need at least 24 ticks per symbol" in message
    assert "the shortest series has 20" in message
    assert not (tmp_path / "tuned.toml").exists()
