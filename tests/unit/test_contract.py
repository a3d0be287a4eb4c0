"""The Python-Rust contract is declared once (contract/contract.toml): both generated sides are
current, the compiled core holds the same names as Python, and what crosses the boundary
(the forecasts message, the rows) is shaped by it."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from tickcast import _core, contract
from tickcast.contract import ENTRIES_FIELD, LOSSES, METRIC_NAMES, PER_MODEL_FIELDS, SHARED_FIELDS
from tickcast.online_model import CoreConfig, SymbolStates
from tickcast.online_model.core_config import feature_names
from tickcast.online_model.model_specs import KINDS
from tickcast.records import Forecast, MetricRow, Tick, columns

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "contract" / "generate.py"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("contract_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_files_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr


def test_a_changed_contract_makes_both_generated_files_stale(tmp_path: Path) -> None:
    gen = generator()
    changed = tmp_path / "contract.toml"
    text = gen.CONTRACT.read_text()
    changed.write_text(text.replace('"roc_auc", "log_loss"', '"roc_auc", "brier", "log_loss"'))
    gen.CONTRACT = changed
    new = gen.generated()
    assert '"brier"' in new[gen.RUST]
    assert '"brier"' in new[gen.PYTHON]
    assert all(path.read_text() != source for path, source in new.items())
    assert gen.main(["--check"]) == 1


def test_the_compiled_core_was_built_from_this_contract() -> None:
    assert _core.CONTRACT == contract.DIGEST
    held, gen = _core.contract(), generator()
    for name in gen.tomllib.loads(gen.CONTRACT.read_text())["enums"]:
        assert tuple(held[name]) == getattr(contract, gen.plural(name)), name
    assert tuple(held["metric_names"]) == METRIC_NAMES
    assert tuple(held["shared_fields"]) == SHARED_FIELDS
    assert tuple(held["per_model_fields"]) == PER_MODEL_FIELDS
    assert (held["state_format"], held["served"]) == (contract.STATE_FORMAT, contract.SERVED)


def test_pythons_names_are_the_contracts() -> None:
    assert LOSSES == contract.LOSSES
    assert set(KINDS) >= set(contract.MODEL_KINDS) - {"external"}
    assert columns(MetricRow)[5:] == list(METRIC_NAMES)
    assert feature_names((5, 20))[: contract.N_LAGS] == ["ret_lag1", "ret_lag2", "ret_lag3"]
    assert feature_names((5,))[-len(contract.REST_FEATURES) :] == list(contract.REST_FEATURES)
    assert {f.name for f in fields(Forecast)} == set(SHARED_FIELDS) | set(PER_MODEL_FIELDS)


def test_the_cores_forecasts_message_has_the_contracts_fields() -> None:
    config = CoreConfig(horizon=1)
    states = SymbolStates(config)
    batch = _core.Batch()
    ticks = [Tick("AAA", 1_700_000_000_000 + i * 1000, 100.0 + i) for i in range(3)]
    _core.step_batch([states[t.symbol].core for t in ticks], ticks, batch)
    _, value = batch.messages()[-1]
    message = orjson.loads(value)
    assert list(message) == [*SHARED_FIELDS, ENTRIES_FIELD]
    assert [list(entry) for entry in message[ENTRIES_FIELD]] == [list(PER_MODEL_FIELDS)] * len(
        config.forecasters
    )


def test_a_name_outside_the_contract_is_refused_by_the_core_naming_it() -> None:
    resolved = CoreConfig().resolved()
    resolved["models"][2] = dict(resolved["models"][2], loss="cubic")
    with pytest.raises(ValueError, match='unknown loss "cubic"'):
        _core.Spec(resolved)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: r.update(horizn=2), 'the core configuration has "horizn", which the core'),
        (lambda r: r.pop("select_t"), 'the core configuration lacks "select_t"'),
        (lambda r: r.update(horizon="2"), 'the core configuration: "horizon"'),
        (lambda r: r["drift"].update(psi_max=1), 'drift has "psi_max"'),
        (lambda r: r["models"][4].update(loss="log"), 'model 4 has "loss"'),
        (lambda r: r["models"][2].pop("clip"), 'model 2 lacks "clip"'),
    ],
)
def test_a_configuration_key_either_side_does_not_know_is_refused_naming_it(
    change: Callable[[dict[str, Any]], object], said: str
) -> None:
    """Python writes the resolved configuration and Rust reads it key by key: a key one side
    renamed, dropped or added fails at once, naming it, instead of being ignored."""
    resolved = CoreConfig().resolved()
    _core.Spec(resolved)  # as Python writes it, every key is read
    change(resolved)
    with pytest.raises(ValueError, match=re.escape(said)):
        _core.Spec(resolved)


def stub_classes() -> dict[str, set[str]]:
    """Each class _core.pyi declares, with the attributes and methods it declares."""
    tree = ast.parse((ROOT / "tickcast" / "_core.pyi").read_text())
    declared: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            declared[node.name] = {
                item.target.id if isinstance(item, ast.AnnAssign) else item.name
                for item in node.body
                if (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name))
                or (isinstance(item, ast.FunctionDef) and not item.name.startswith("__"))
            }
    return declared


def test_the_stub_declares_what_the_compiled_core_has() -> None:
    """mypy reads _core.pyi: a field renamed in Rust and not there fails here, not in a run."""
    declared = stub_classes()
    assert {"Stepped", "CoreForecast", "CoreOutcome", "CoreMetrics", "CoreDrift"} <= set(declared)
    for name, members in declared.items():
        built = getattr(_core, name)
        has = {m for m in vars(built) if not m.startswith("_")}
        assert has == members, name


def test_a_step_hands_back_named_rows_that_make_the_records() -> None:
    config = CoreConfig(horizon=1, windows=(2, 4), metrics_every=5)
    states = SymbolStates(config)
    ticks = [Tick("AAPL", 60_000 * i, 100.0 + (i % 3), seq=1) for i in range(40)]
    stepped = [states["AAPL"].core.step(tick) for tick in ticks]
    last = stepped[-1]
    assert last.status == 0
    assert [row.forecaster for row in last.forecasts] == list(range(len(config.forecasters)))
    served = last.forecasts[-1]
    assert (served.symbol, served.ts, served.seq) == ("AAPL", ticks[-1].ts, ticks[-1].seq)
    assert served.based_on == states["AAPL"].core.selected
    outcome = last.outcomes[0]
    assert outcome.label_ts == ticks[-1].ts
    assert outcome.inside == (
        outcome.lower_return <= outcome.realised_return <= outcome.upper_return
    )
    metrics = [row for s in stepped for row in s.metrics]
    assert metrics
    assert set(metrics[0].values) == set(METRIC_NAMES)
