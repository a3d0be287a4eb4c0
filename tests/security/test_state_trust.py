"""State is trusted only when signed: a forged, unsigned, re-signed or altered state in the
changelog or the registry is refused with one log line and the documented fallback (a fresh
state, the previous version), and nothing in it runs, even a state signed with the right key
whose River part names a command."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import lz4.block
import pytest

from tests.conftest import CODEC, make_ticks
from tests.eventually import eventually
from tests.factories import verdicts
from tests.isolated import logged
from tickcast import bootstrap, pickles
from tickcast._core import SymbolCore
from tickcast.codecs import HEADER, StateCodec, StateRefusedError, fingerprint
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.online_model.checkpoints import take
from tickcast.online_model.drift import DriftConfig
from tickcast.online_model.model_specs import resolve_models
from tickcast.stores.registry import Registry
from tickcast.stores.registry_child import BackgroundRegistry
from tickcast.stream_processors import Runtime

RIVER = CoreConfig(
    models=resolve_models(["linear", "tree"]), drift=DriftConfig(detector="adwin"), min_outcomes=30
)
NOW_MS = 1_700_000_100_000


def runtime_of(config: CoreConfig, **options: Any) -> Runtime:
    """The runtime a worker runs, signing with the tests' key, its clock at NOW_MS."""
    return bootstrap.runtime(config, codec=CODEC, clock=lambda: NOW_MS / 1000, **options)


class Touch:
    """A River part that creates ``path`` when unpickled, as a forged state would carry."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch {self.path}",)


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a forged state ran a command"


def learned(config: CoreConfig = RIVER, n: int = 300) -> SymbolState:
    state = SymbolState("AAPL", config)
    for tick in make_ticks(n, symbols=1):
        state.step(tick)
    return state


def payload(state: SymbolState, river: bytes) -> bytes:
    """A state's compressed payload with ``river`` as its River part."""
    core, symbol = state.core.encode(), state.symbol.encode()
    return lz4.block.compress(struct.pack("<HI", len(symbol), len(core)) + symbol + core + river)


def signed_by(codec: StateCodec, state: SymbolState, river: bytes) -> bytes:
    """What ``codec`` would sign, with ``river`` as the River part (bypassing pickles.dumps)."""
    genuine = codec.encode(state)
    head = genuine[: HEADER.size - 32]
    body = payload(state, river)
    return head + codec._mac(codec._signing, head, body) + body


def unsigned(state: SymbolState, river: bytes) -> bytes:
    """The format before states were signed: an unkeyed fingerprint anyone can compute."""
    return struct.pack(">4sH16s", b"TKST", 3, fingerprint(state.config)) + payload(state, river)


def test_a_forged_changelog_record_is_refused_and_the_symbol_starts_fresh(
    marker: Path, caplog: pytest.LogCaptureFixture
) -> None:
    forged = signed_by(StateCodec(b"an attacker's key, 32 bytes long!"), learned(), b"")
    forged = forged[: HEADER.size] + payload(learned(), pickles.dumps(Touch(marker)))
    runtime = runtime_of(RIVER, recover=lambda symbol: forged)
    assert verdicts(runtime, [{"symbol": "AAPL", "ts": NOW_MS, "price": 1.0}]) == ["ok"]
    assert runtime.pipeline.states["AAPL"].progress.n_ticks == 1  # fresh, not the forged one
    [refused] = logged(caplog.records, "state_refused")
    assert "key this process does not hold" in refused["reason"]


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (lambda s, r: unsigned(s, r), "state format 3"),
        (lambda s, r: signed_by(StateCodec(b"k" * 32), s, r), "key this process does not hold"),
        (lambda s, r: signed_by(CODEC, s, r)[:-1] + b"!", "signature does not match"),
        (lambda s, r: signed_by(CODEC, s, r), "may not be loaded from a state"),
    ],
    ids=["unsigned", "another-key", "altered", "right-key-evil-pickle"],
)
def test_a_state_that_would_run_a_command_is_refused_and_runs_nothing(
    marker: Path, forge: Any, reason: str
) -> None:
    data = forge(learned(), pickles.dumps(Touch(marker)))
    with pytest.raises(StateRefusedError, match=reason):
        CODEC.decode(data, RIVER)


def test_keys_rotate_an_old_key_is_accepted_until_it_is_dropped() -> None:
    old, new = b"the key of last quarter, 32+ bytes", b"the key of this quarter, 32+ bytes"
    written = StateCodec(old).encode(learned(CoreConfig()))
    rotating = StateCodec(new, accepted=[old])
    assert rotating.decode(written, CoreConfig()).progress.n_ticks == 300
    assert rotating.encode(learned(CoreConfig())) != written  # signed with the new one
    with pytest.raises(StateRefusedError, match="does not hold"):
        StateCodec(new).decode(written, CoreConfig())


def test_a_state_that_claims_a_huge_size_is_refused_before_decompressing() -> None:
    state = learned(CoreConfig())
    genuine = CODEC.encode(state)
    head = genuine[: HEADER.size - 32]
    body = struct.pack("<I", 2**31) + payload(state, b"")[4:]
    bomb = head + CODEC._mac(CODEC._signing, head, body) + body
    with pytest.raises(StateRefusedError, match="decompresses past"):
        CODEC.decode(bomb, CoreConfig())


def test_a_panic_of_compiled_code_while_decoding_takes_the_fallback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ADWIN's window is River's compiled code: a corrupt one panics as it is unpickled, and a
    PanicException is a BaseException, which ``except Exception`` lets through."""
    state = learned()
    river = pickles.dumps(state.core.externals)
    detector = next(iter(state.core.externals.detectors.values()))
    window = detector._helper.__getstate__()
    assert window in river
    corrupt = river.replace(window, b"\xff" * len(window))
    runtime = runtime_of(RIVER, recover=lambda symbol: signed_by(CODEC, state, corrupt))
    assert verdicts(runtime, [{"symbol": "AAPL", "ts": NOW_MS, "price": 1.0}]) == ["ok"]
    [refused] = logged(caplog.records, "state_refused")
    assert "PanicException" in refused["reason"]


def test_arrays_of_the_wrong_length_are_refused_never_a_panic_at_the_next_step() -> None:
    """Every array in the compiled state shortened by one value, as authentic bytes could be
    after a bug: the decoder refuses it, or what it decoded steps on without a panic (an
    optimiser's slots of another length indexed out of bounds at the next step)."""
    config = CoreConfig(min_outcomes=30)
    state = learned(config, 400)
    core = state.core.encode()
    ticks = make_ticks(420, symbols=1)[400:]
    refused = []
    for at in range(len(core) - 4):
        n = struct.unpack_from("<I", core, at)[0]
        end = at + 4 + 8 * n
        if not 2 <= n <= 64 or end > len(core):
            continue
        shorter = core[:at] + struct.pack("<I", n - 1) + core[at + 4 : end - 8] + core[end:]
        try:
            decoded = SymbolCore.decode(config.spec, shorter)
        except ValueError as exc:
            refused.append(str(exc))
            continue
        for tick in ticks:
            decoded.step(tick)  # a PanicException here fails the test
    assert any("optimiser" in reason for reason in refused), refused


@pytest.mark.integration
def test_a_forged_registry_version_is_neither_warm_started_nor_adopted(
    tmp_path: Path, marker: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An uploaded version that an operator (or whoever moved the alias) made the champion: a
    worker starting the symbol refuses it and starts fresh; a worker serving it refuses to
    adopt it and serves on. Nothing in it runs."""
    config = CoreConfig(min_outcomes=30)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    registry = Registry(uri)
    genuine = learned(config)
    registry.log(take(genuine, CODEC, moves_aliases=False))
    forged = signed_by(StateCodec(b"an attacker's key, 32 bytes long!"), genuine, b"")
    forged = forged[: HEADER.size] + payload(genuine, pickles.dumps(Touch(marker)))
    registry.log(replace(take(genuine, CODEC, moves_aliases=False), state=forged))
    registry.promote("AAPL", 2)  # the forged one
    watcher = BackgroundRegistry(uri, poll_s=0.3).start()
    try:
        watcher.request_warm({0, 1, 2, 3}, 4)
        assert watcher.wait_warm(60)
        runtime = runtime_of(config, registry=watcher, warm_start=True)
        assert verdicts(runtime, [{"symbol": "AAPL", "ts": NOW_MS, "price": 1.0}]) == ["ok"]
        assert runtime.pipeline.states["AAPL"].progress.n_labels == 0  # fresh: nothing learned
        registry.promote("AAPL", 1)  # the genuine one: adopted
        adopted = eventually(runtime.adopt_chosen, 30, "the adoption of version 1")
        registry.promote("AAPL", 2)  # the forged one again: refused
        eventually(
            lambda: runtime.adopt_chosen() or refusals(caplog), 30, "the refusal of version 2"
        )
    finally:
        watcher.close(timeout=5)
    refused = {e["path"]: e for e in logged(caplog.records, "state_refused")}
    assert refused["registry"]["version"] == 2  # no warm start from it
    assert adopted == ["AAPL"]  # version 1
    assert refused["adoption"]["version"] == 2
    assert "key this process does not hold" in refused["adoption"]["reason"]


def refusals(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [e for e in logged(caplog.records, "state_refused") if e["path"] == "adoption"]


def test_a_genuine_state_of_another_symbol_is_refused_under_this_ones_key() -> None:
    """Someone who can write the changelog replays AAA's signed state under BBB's key."""
    theirs = CODEC.encode(learned(CoreConfig()))  # AAPL's
    runtime = runtime_of(CoreConfig(), recover=lambda symbol: theirs)
    assert verdicts(runtime, [{"symbol": "MSFT", "ts": NOW_MS, "price": 1.0}]) == ["ok"]
    assert runtime.pipeline.states["MSFT"].symbol == "MSFT"
    assert runtime.pipeline.states["MSFT"].progress.n_ticks == 1
    with pytest.raises(StateRefusedError, match="'AAPL''s, not 'MSFT''s"):
        CODEC.decode(theirs, CoreConfig(), "MSFT")
