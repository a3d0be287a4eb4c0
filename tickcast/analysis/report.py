"""``tickcast backtest --report DIR``: the metrics as JSON, four plots and a page that shows them.

Plots (PNG, matplotlib's Agg backend, no display needed):
- ``price_<SYMBOL>.png``: the last ticks' price, the served forecast and its interval band;
- ``rolling_mae_ratio.png``: each model's rolling MAE over random_walk's (below 1 beats it);
- ``coverage.png``: rolling coverage of the served interval against its nominal level;
- ``direction_roc.png``: the ROC curve of the direction model's P(up);
- ``learning_curves.png``: per model, the rolling prequential MAE (before learning a tick)
  beside the in-sample MAE (after learning it), averaged over symbols: a gap means over-fitting;
- ``gradient_norms.png``: each network's average gradient norm at its first and last layer (a
  first layer's far below its last: vanishing gradients; growing without bound: exploding).
The same folder can be logged to MLflow as one run (:func:`log_to_mlflow`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tickcast.analysis.backtest import BacktestReport
from tickcast.online_model import BASELINE, SERVED
from tickcast.records import METRIC_NAMES, Forecast, Outcome, Tick

if TYPE_CHECKING:
    from tickcast.stores.registry import Registry

__all__ = ["TABLE_COLUMNS", "column_title", "exact_roc_auc", "log_to_mlflow", "write_report"]

PRICE_TICKS = 300  # ticks shown in each price plot
PRICE_SYMBOLS = 3  # symbols that get a price plot
TABLE_COLUMNS = METRIC_NAMES[:-2]  # every score of a model_metrics row (not the gradient norms)
TITLES = {"mae_ratio_vs_random_walk": "mae/rw", "interval_score": "winkler"}


def column_title(column: str) -> str:
    """A metric's short column title, for the CLI table and the report page."""
    return TITLES.get(column, column)


def write_report(
    out: Path,
    report: BacktestReport,
    ticks: Sequence[Tick],
    forecasts: Sequence[Forecast],
    outcomes: Sequence[Outcome],
) -> list[Path]:
    """Write metrics.json, the plots and index.html into ``out``; returns the files."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    scored = pd.DataFrame(outcomes)
    result = report.to_dict()
    for model, metrics_of in result["pooled"].items():  # one ROC AUC: the plot's, exact
        metrics_of["roc_auc"] = exact_roc_auc(scored, model)
    metrics = out / "metrics.json"
    metrics.write_text(json.dumps(result, indent=2))
    window = max(20, report.config.metrics_window)
    plots = [
        *(
            _price_plot(out, symbol, ticks, forecasts)
            for symbol in list(result["symbols"])[:PRICE_SYMBOLS]
        ),
        _ratio_plot(out / "rolling_mae_ratio.png", scored, window),
        _coverage_plot(out / "coverage.png", scored, window, report.config.level),
        _roc_plot(out / "direction_roc.png", scored),
        _learning_plot(out / "learning_curves.png", result["learning_curves"]),
        _gradient_plot(out / "gradient_norms.png", result["learning_curves"]),
    ]
    page = out / "index.html"
    page.write_text(_page(result, [p for p in plots if p is not None]))
    return [metrics, *[p for p in plots if p is not None], page]


def direction_outcomes(scored: pd.DataFrame, model: str) -> pd.DataFrame:
    """The model's outcomes that went up or down (a zero return is neither), as the core's
    direction metrics count them."""
    if scored.empty:
        return scored
    return scored[(scored.model == model) & (scored.realised_return != 0)]


def exact_roc_auc(scored: pd.DataFrame, model: str) -> float | None:
    """ROC AUC of the model's P(up) over its outcomes, exactly (the stream's is binned)."""
    from sklearn.metrics import roc_auc_score

    direction = direction_outcomes(scored, model)
    if direction.empty or direction.realised_return.gt(0).nunique() < 2:
        return None
    return float(roc_auc_score(direction.realised_return.gt(0), direction.p_up))


def _price_plot(
    out: Path, symbol: str, ticks: Sequence[Tick], forecasts: Sequence[Forecast]
) -> Path | None:
    import matplotlib.pyplot as plt

    served = [f for f in forecasts if f.symbol == symbol and f.model == SERVED][-PRICE_TICKS:]
    if not served:
        return None
    prices = [(t.ts, t.price) for t in ticks if t.symbol == symbol][-PRICE_TICKS:]
    step = _step_ms([ts for ts, _ in prices]) * served[0].horizon
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(
        _times([ts for ts, _ in prices]), [p for _, p in prices], color="black", lw=1, label="price"
    )
    target = _times([f.ts + step for f in served])  # a forecast is for the tick it predicts
    ax.plot(
        target, [f.predicted_price for f in served], color="tab:blue", lw=1, label="served forecast"
    )
    ax.fill_between(
        target,
        [f.lower for f in served],
        [f.upper for f in served],
        color="tab:blue",
        alpha=0.2,
        label="interval",
    )
    ax.set_title(f"{symbol}: price, served forecast and interval (last {len(served)} ticks)")
    ax.legend(loc="upper left")
    return _save(fig, out / f"price_{_safe(symbol)}.png")


def _ratio_plot(path: Path, scored: pd.DataFrame, window: int) -> Path | None:
    import matplotlib.pyplot as plt

    if scored.empty:
        return None
    errors = scored.assign(error=(scored.predicted_return - scored.realised_return).abs())
    table = errors.pivot_table(index=["label_ts", "symbol"], columns="model", values="error")
    rolling = table.sort_index().rolling(window, min_periods=window // 2).mean()
    ratio = rolling.div(rolling[BASELINE], axis=0).drop(columns=[BASELINE])
    fig, ax = plt.subplots(figsize=(10, 4))
    times = _times(ratio.index.get_level_values("label_ts"))
    for model in ratio.columns:
        ax.plot(times, ratio[model], lw=1.6 if model == SERVED else 0.9, label=model)
    ax.axhline(1.0, color="black", lw=0.8, ls="--")
    ax.set_title(f"rolling MAE / random_walk's MAE ({window} scored forecasts, pooled)")
    ax.legend(loc="upper left", ncol=3)
    return _save(fig, path)


def _coverage_plot(path: Path, scored: pd.DataFrame, window: int, level: float) -> Path | None:
    import matplotlib.pyplot as plt

    served = scored[scored.model == SERVED].sort_values("label_ts")
    if served.empty:
        return None
    coverage = served.inside.astype(float).rolling(window, min_periods=window // 2).mean()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.plot(_times(served.label_ts), coverage, color="tab:green", lw=1, label="served interval")
    ax.axhline(level, color="black", lw=0.8, ls="--", label=f"nominal {level:.0%}")
    ax.set_ylim(max(0.0, level - 0.3), 1.0)
    ax.set_title(f"rolling coverage ({window} scored forecasts, pooled)")
    ax.legend(loc="lower left")
    return _save(fig, path)


def _roc_plot(path: Path, scored: pd.DataFrame) -> Path | None:
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    auc = exact_roc_auc(scored, "direction")
    if auc is None:
        return None
    direction = direction_outcomes(scored, "direction")
    fpr, tpr, _ = roc_curve(direction.realised_return.gt(0), direction.p_up)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, color="tab:purple", label=f"direction, AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("direction model: ROC of P(up)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def curve_frame(curves: dict[str, dict[str, dict[str, list[Any]]]]) -> pd.DataFrame:
    """The learning curves as one long frame: symbol, model, ts and the curves' fields."""
    frames = [
        pd.DataFrame(series).assign(symbol=symbol, model=model)
        for symbol, models in curves.items()
        for model, series in models.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _learning_plot(path: Path, curves: dict[str, Any]) -> Path | None:
    import matplotlib.pyplot as plt

    frame = curve_frame(curves)
    if frame.empty:
        return None
    models = [m for m in frame.model.unique() if m not in (BASELINE, SERVED)]
    if not models:
        return None
    fig, axes = plt.subplots(len(models), 1, figsize=(10, 2.6 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models, strict=True):
        mean = frame[frame.model == model].groupby("ts")[["mae", "in_sample_mae"]].mean()
        ax.plot(_times(mean.index), mean.mae, lw=1, label="prequential (before learning)")
        ax.plot(_times(mean.index), mean.in_sample_mae, lw=1, label="in-sample (after)")
        ax.set_title(f"{model}: rolling MAE, averaged over symbols")
        ax.legend(loc="upper right")
    return _save(fig, path)


def _gradient_plot(path: Path, curves: dict[str, Any]) -> Path | None:
    import matplotlib.pyplot as plt

    frame = curve_frame(curves)
    if frame.empty or frame.grad_norm_input.isna().all():
        return None
    fig, ax = plt.subplots(figsize=(10, 3.5))
    for model, rows in frame.dropna(subset=["grad_norm_input"]).groupby("model"):
        if model == SERVED:
            continue
        mean = rows.groupby("ts")[["grad_norm_input", "grad_norm_output"]].mean()
        ax.plot(_times(mean.index), mean.grad_norm_input, lw=1, label=f"{model}: first layer")
        ax.plot(_times(mean.index), mean.grad_norm_output, lw=1, ls="--", label=f"{model}: last")
    ax.set_yscale("log")
    ax.set_title("networks' average gradient norm per layer")
    ax.legend(loc="upper right")
    return _save(fig, path)


def _page(result: dict[str, Any], plots: list[Path]) -> str:
    titles = ("model", *(column_title(c) for c in TABLE_COLUMNS))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in titles)
    rows = "".join(
        "<tr><td>"
        + html.escape(model)
        + "</td>"
        + "".join(f"<td>{_cell(metrics.get(c))}</td>" for c in TABLE_COLUMNS)
        + "</tr>"
        for model, metrics in result["pooled"].items()
    )
    images = "".join(
        f'<figure><img src="{p.name}" alt="{p.stem}"><figcaption>{p.stem}</figcaption></figure>'
        for p in plots
    )
    symbols = ", ".join(html.escape(s) for s in result["symbols"])
    fits = "".join(f"<li>{html.escape(v['words'])}</li>" for v in result["fit"].values())
    fits = f"<h2>Over- and under-fitting</h2><ul>{fits}</ul>" if fits else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tickcast backtest</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}td:first-child{{text-align:left}}
img{{max-width:100%}}figure{{margin:1.5em 0}}</style></head><body>
<h1>tickcast backtest</h1>
<p>Symbols: {symbols}. Horizon {result["horizon"]} tick(s), nominal interval
{result["interval_level"]:.0%}. Pooled prequential metrics; <code>served</code> is the served
forecast. Full numbers in <a href="metrics.json">metrics.json</a>.</p>
<table><tr>{head}</tr>{rows}</table>
{fits}
{images}
</body></html>
"""


def log_to_mlflow(
    registry: Registry, out: Path, result: dict[str, Any], params: dict[str, str]
) -> str:
    """Log the report as one run of the ``tickcast-backtests`` experiment; returns its id."""
    from mlflow.entities import Metric, Param

    client = registry.client
    run = client.create_run(registry.experiment("tickcast-backtests"), run_name="backtest")
    run_id = run.info.run_id
    metrics = [
        Metric(f"{model}.{key}", float(value), 0, 0)
        for model, values in result["pooled"].items()
        for key, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    client.log_batch(
        run_id, metrics=metrics[:1000], params=[Param(k, v) for k, v in params.items()]
    )
    client.log_artifacts(run_id, str(out), "report")
    client.set_terminated(run_id)
    return str(run_id)


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _times(ts: Any) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(ts, dtype="int64"), unit="ms", utc=True)


def _step_ms(ts: list[int]) -> int:
    """The typical spacing of ticks (the median gap), to place a forecast at its target."""
    return int(np.median(np.diff(ts))) if len(ts) > 1 else 0


def _safe(symbol: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", symbol)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else html.escape(str(value))
