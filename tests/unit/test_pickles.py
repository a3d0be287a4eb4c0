"""River's parts of a state unpickle into the allowlist and nothing else: every global the
River models tickcast offers name is on it (this fails when River, pinned, starts naming
something new), what they name rebuilds models that forecast identically, and any other name is
refused before anything is imported."""

from __future__ import annotations

import io
import os
import pickle
import sys
from typing import Any

import pytest

from tests.conftest import make_ticks
from tickcast import pickles
from tickcast.contract import BASELINE
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.drift import DriftConfig
from tickcast.online_model.model_specs import resolve_models, spec

RIVER = resolve_models(["linear", "tree", "snarimax"])
CONFIGS = {
    "tree and snarimax": CoreConfig(models=RIVER),
    "adwin resets": CoreConfig(
        models=RIVER, drift=DriftConfig(detector="adwin", reaction="reset", adwin_delta=0.5)
    ),
    "a deep, eager tree": CoreConfig(
        models=(spec(BASELINE, BASELINE), spec("t", "tree", max_depth=12, grace_period=5))
    ),
    "differenced snarimax, horizon 3": CoreConfig(
        horizon=3,
        models=(spec(BASELINE, BASELINE), spec("s", "snarimax", p=3, d=1, q=2)),
    ),
}


class Recorder(pickle.Unpickler):
    """Loads anything (the test's own pickles only), noting every global asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.named: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.named.add((module, name))
        return super().find_class(module, name)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_every_global_river_models_name_is_allowed_and_rebuilds_them(config: CoreConfig) -> None:
    ticks = make_ticks(1600, symbols=1, seed=11)
    live = SymbolState(ticks[0].symbol, config)
    named: set[tuple[str, str]] = set()
    for i, tick in enumerate(ticks[:1200], 1):
        live.step(tick)
        if i in (10, 600, 1200):  # a tree splits after a few hundred ticks
            recorder = Recorder(pickles.dumps(live.core.externals))
            recorder.load()
            named |= recorder.named
    assert named <= pickles.ALLOWED, named - pickles.ALLOWED
    rebuilt = SymbolState(
        live.symbol,
        config,
        type(live.core).decode(
            config.spec, live.core.encode(), pickles.loads(pickles.dumps(live.core.externals))
        ),
    )
    for tick in ticks[1200:]:
        assert rebuilt.step(tick).forecasts == live.step(tick).forecasts


class Evil:
    """What a forged state would carry: a global that runs a command when unpickled."""

    def __init__(self, call: Any, *args: Any) -> None:
        self.call, self.args = call, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.call, self.args


@pytest.mark.parametrize(
    "payload",
    [
        Evil(os.system, "touch /tmp/tickcast-pwned"),
        Evil(eval, "1"),
        Evil(getattr, 1, "real"),
        Evil(pickle.loads, b""),
    ],
    ids=["os.system", "eval", "getattr", "pickle.loads"],
)
def test_any_other_global_is_refused(payload: Evil) -> None:
    with pytest.raises(pickle.UnpicklingError, match="may not be loaded from a state"):
        pickles.loads(pickle.dumps(payload, protocol=pickles.PROTOCOL))


def test_a_refused_name_imports_nothing() -> None:
    """The name is checked before its module is imported: importing is running code."""
    forged = b"\x80\x05\x8c\x0bhttp.server\x94\x8c\x0aHTTPServer\x94\x93\x94."
    sys.modules.pop("http.server", None)
    with pytest.raises(pickle.UnpicklingError):
        pickles.loads(forged)
    assert "http.server" not in sys.modules
