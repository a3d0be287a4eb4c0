"""``tickcast tune``: walk-forward cross-validation of the models' hyper-parameters.

A grid file is a models file whose model tables may hold a ``grid`` table: each key a
hyper-parameter, each value the list of candidates to try (``[models.linear.grid]`` with
``lr = [0.0005, 0.002]``). Every combination is a candidate.

Each series is split by time into ``folds + 1`` consecutive blocks of ticks; fold k
(1..folds) evaluates on block k what the model learned from the blocks before it. The core
is online, so the evaluation is prequential, as it would run live: each forecast is scored
before its label is learned. A fold scores the forecasts made from ``horizon`` ticks after its
start (the gap: labels learned there are of forecasts made in training) to ``horizon`` ticks
before its end (each scored label lies inside the fold: no fold reads its own future). One pass
of the core runs every candidate as a model of the set, beside the random walk, and one
fold's figures are sums over the forecasts it scores, so the folds cost a single pass.

Candidates are ranked by their mean MAE ratio to the random walk over the folds, then by their
interval score; the best candidate of each model is the winning spec, written as a models file.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tickcast.exceptions import ConfigError
from tickcast.online_model import BASELINE, CoreConfig, ModelSpec
from tickcast.online_model.core_config import config_from_mapping
from tickcast.online_model.model_specs import CATALOGUE, spec
from tickcast.records import parse_ts
from tickcast.stream_processors.outcomes_file import Maturing
from tickcast.stream_processors.outputs import Outputs

__all__ = ["Candidate", "Folds", "TuneResult", "read_grid", "tune"]

MAX_PER_PASS = 99  # the core runs at most 100 models: the random walk and 99 candidates
SUMS = ("n", "abs_err", "abs_realised", "winkler", "inside")


@dataclass(frozen=True)
class Candidate:
    """One combination of a model's grid values: ``spec`` under the model's own name."""

    spec: ModelSpec
    grid: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        values = ", ".join(f"{k}={v}" for k, v in self.grid)
        return f"{self.spec.name} ({values})" if values else self.spec.name


def read_grid(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[Candidate]]:
    """The grid file without its grids (the base configuration's mapping) and every
    candidate, model by model, in file order."""
    base = {k: v for k, v in data.items() if k != "models"}
    tables = data.get("models", {})
    if not isinstance(tables, Mapping) or not tables:
        raise ConfigError("a grid file needs [models.NAME] tables (with kind and a grid)")
    base["models"] = {}
    candidates = []
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"[models.{name}] must be a table")
        params = {k: v for k, v in table.items() if k != "grid"}
        base["models"][name] = params
        grid = table.get("grid", {})
        if not isinstance(grid, Mapping) or any(
            not isinstance(v, list) or not v for v in grid.values()
        ):
            raise ConfigError(f"[models.{name}.grid]: each value must be a non-empty list")
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            chosen = dict(zip(keys, values, strict=True))
            merged = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()}
            merged |= {k: (tuple(v) if isinstance(v, list) else v) for k, v in chosen.items()}
            kind = merged.pop("kind", None)
            if kind is None:
                raise ConfigError(f"[models.{name}] needs kind = ...")
            candidates.append(Candidate(spec(name, str(kind), **merged), tuple(chosen.items())))
    return base, candidates


@dataclass
class Folds:
    """Where each symbol's blocks start, in its ticks' event times: block j holds the ticks
    from index ``edges[j]`` (of ``folds + 1`` blocks)."""

    folds: int
    horizon: int
    times: dict[str, np.ndarray] = field(default_factory=dict)  # a symbol's sorted event times
    edges: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]], folds: int, horizon: int) -> Folds:
        if folds < 2:
            raise ConfigError(f"--folds must be at least 2, got {folds}")
        by_symbol: dict[str, list[int]] = {}
        for record in records:
            try:
                by_symbol.setdefault(str(record["symbol"]), []).append(parse_ts(record["ts"]))
            except (KeyError, ValueError, TypeError):
                continue  # a bad row: the pipeline counts it, no fold needs it
        result = cls(folds, horizon)
        for symbol, ts in by_symbol.items():
            times = np.unique(np.asarray(ts, dtype=np.int64))
            result.times[symbol] = times
            result.edges[symbol] = np.linspace(0, len(times), folds + 2).round().astype(np.int64)
        return result

    def fold_of(self, symbol: str, ts: np.ndarray) -> np.ndarray:
        """The fold (1..folds) that scores each forecast made at ``ts``, or 0: training, the
        gap, or a label beyond the fold's end."""
        times, edges = self.times.get(symbol), self.edges.get(symbol)
        if times is None or edges is None:
            return np.zeros(len(ts), dtype=np.int64)
        index = np.searchsorted(times, ts)
        block = np.searchsorted(edges, index, side="right") - 1
        block = np.clip(block, 0, self.folds)
        start, end = edges[block], edges[np.minimum(block + 1, self.folds + 1)]
        scored = (block >= 1) & (index >= start + self.horizon) & (index < end - self.horizon)
        return np.where(scored, block, 0)

    def check(self) -> None:
        """A clear error when no symbol has enough ticks for its folds and their gaps."""
        shortest = min((len(t) for t in self.times.values()), default=0)
        needed = (self.folds + 1) * (2 * self.horizon + 2)
        if shortest < needed:
            raise ConfigError(
                f"{self.folds} folds with a gap of {self.horizon} tick(s) need at least "
                f"{needed} ticks per symbol; the shortest series has {shortest}"
            )


class FoldScores:
    """A sink: per model and fold, the sums of the forecasts the fold scores."""

    name = "fold_scores"

    def __init__(self, folds: Folds, alpha: float) -> None:
        self.folds = folds
        self.alpha = alpha
        self.maturing = Maturing()
        self.sums: dict[tuple[str, int], np.ndarray] = {}

    def part(self, outputs: Outputs) -> tuple[pa.Table, pa.Table]:
        return self.maturing.part(outputs)

    async def write(self, part: tuple[pa.Table, pa.Table]) -> None:
        matured = self.maturing.matured(*part)
        if not len(matured):
            return
        columns = ["symbol", "ts", "model", "price", "predicted_return", "lower", "upper"]
        frame = matured.select([*columns, "realised_return"]).to_pandas()
        frame["ts"] = frame.ts.astype("int64")
        frame["fold"] = 0
        for symbol, rows in frame.groupby("symbol").groups.items():
            frame.loc[rows, "fold"] = self.folds.fold_of(str(symbol), frame.ts[rows].to_numpy())
        frame = frame[frame.fold > 0]
        y = frame.realised_return
        lower, upper = np.log(frame.lower / frame.price), np.log(frame.upper / frame.price)
        miss = np.maximum(lower - y, 0) + np.maximum(y - upper, 0)
        scored = pd.DataFrame(
            {
                "model": frame.model,
                "fold": frame.fold,
                "n": 1.0,
                "abs_err": (frame.predicted_return - y).abs(),
                "abs_realised": y.abs(),
                "winkler": (upper - lower) + 2 / self.alpha * miss,
                "inside": (miss == 0).astype(float),
            }
        )
        totals = scored.groupby(["model", "fold"])[list(SUMS)].sum()
        for (model, fold), values in zip(totals.index, totals.to_numpy(), strict=True):
            key = (str(model), int(fold))
            self.sums[key] = self.sums.get(key, np.zeros(len(SUMS))) + values


@dataclass
class TuneResult:
    """Every candidate's figures per fold and on average, best first, and the winning spec
    of each model as a models file's mapping."""

    folds: int
    horizon: int
    ranking: list[dict[str, Any]]
    models_file: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def tune(
    records: Sequence[Mapping[str, Any]],
    grid: Mapping[str, Any],
    folds: int,
    *,
    base: CoreConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> TuneResult:
    """Cross-validate every candidate of ``grid`` on ``records`` over ``folds`` folds."""
    from tickcast.analysis.backtest import run_backtest

    settings, candidates = read_grid(grid)
    config = config_from_mapping({k: v for k, v in settings.items() if k != "models"}, base)
    split = Folds.of(records, folds, config.horizon)
    split.check()
    sums: dict[tuple[int, int], np.ndarray] = {}  # (candidate, fold) -> sums
    for start in range(0, len(candidates), MAX_PER_PASS):
        chunk = candidates[start : start + MAX_PER_PASS]
        named = [dataclasses.replace(c.spec, name=f"c{start + i}") for i, c in enumerate(chunk)]
        models = (CATALOGUE[BASELINE], *(m for m in named if m.kind != BASELINE))
        scores = FoldScores(split, 1.0 - config.level)
        run_backtest(
            records,
            dataclasses.replace(config, models=models),
            sinks=[scores],
            on_progress=on_progress,
        )
        for (model, fold), values in scores.sums.items():
            if model.startswith("c"):
                sums[(int(model[1:]), fold)] = values
            elif model == BASELINE:
                sums[(-1, fold)] = values
    ranking = _rank(candidates, sums, folds)
    return TuneResult(folds, config.horizon, ranking, _winners(settings, candidates, ranking))


def _fold_figures(fold: int, mine: np.ndarray, walk: np.ndarray) -> dict[str, Any]:
    n, abs_err, abs_realised, winkler, inside = mine
    return {
        "fold": fold,
        "n": int(n),
        "mae_ratio": abs_err / abs_realised if abs_realised else math.nan,
        "interval_score": winkler / n,
        "interval_score_ratio": (winkler / n) / (walk[3] / walk[0]),
        "coverage": inside / n,
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else math.nan


def _order(row: dict[str, Any]) -> tuple[float, float]:
    """Best first: the lower mean MAE ratio, then the lower interval score (NaN last)."""
    ratio, score = float(row["mae_ratio"]), float(row["interval_score"])
    return (math.inf if math.isnan(ratio) else ratio, math.inf if math.isnan(score) else score)


def _rank(
    candidates: list[Candidate], sums: dict[tuple[int, int], np.ndarray], folds: int
) -> list[dict[str, Any]]:
    """Every candidate's figures per fold and their means, best first."""
    rows = []
    for i, candidate in enumerate(candidates):
        per_fold = [
            _fold_figures(fold, sums[(i, fold)], sums[(-1, fold)])
            for fold in range(1, folds + 1)
            if (i, fold) in sums and (-1, fold) in sums
        ]
        ratios = [f["mae_ratio"] for f in per_fold]
        rows.append(
            {
                "index": i,
                "model": candidate.spec.name,
                "kind": candidate.spec.kind,
                "grid": dict(candidate.grid),
                "params": dict(candidate.spec.params),
                "mae_ratio": _mean(per_fold, "mae_ratio"),
                "mae_ratio_std": float(np.std(ratios)) if ratios else math.nan,
                "interval_score": _mean(per_fold, "interval_score"),
                "coverage": _mean(per_fold, "coverage"),
                "folds": per_fold,
            }
        )
    rows.sort(key=_order)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def _winners(
    settings: Mapping[str, Any], candidates: list[Candidate], ranking: list[dict[str, Any]]
) -> dict[str, Any]:
    """The grid file's settings, each model's table its best candidate's parameters."""
    best: dict[str, Candidate] = {}
    for row in ranking:  # best first
        best.setdefault(row["model"], candidates[row["index"]])
    models = {
        name: {"kind": c.spec.kind, **{k: _toml(v) for k, v in c.spec.params}}
        for name, c in best.items()
    }
    return {**{k: v for k, v in settings.items() if k != "models"}, "models": models}


def _toml(value: Any) -> Any:
    return [_toml(v) for v in value] if isinstance(value, tuple) else value
