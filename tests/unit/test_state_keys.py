"""The state key: the operator's, or one made once per directory (mode 0600) that processes
started there share; production refuses to make one; old keys rotate out."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import SecretStr

from tickcast.config import Settings
from tickcast.exceptions import ConfigError
from tickcast.online_model import CoreConfig, SymbolState
from tickcast.state_keys import state_codec


def settings(tmp_path: Path, **values: object) -> Settings:
    defaults: dict[str, object] = {
        "state_key": SecretStr(""),
        "state_keys_accepted": SecretStr(""),
        "state_key_file": str(tmp_path / "data" / "state.key"),
        "environment": "local",
    }
    return Settings.model_construct(**(defaults | values))


def test_processes_in_one_directory_share_a_key_made_once_for_their_owner_only(
    tmp_path: Path,
) -> None:
    with ThreadPoolExecutor(8) as pool:  # processes starting at once agree on one key
        codecs = list(pool.map(lambda _: state_codec(settings(tmp_path)), range(8)))
    assert len({codec.key_id for codec in codecs}) == 1
    key = tmp_path / "data" / "state.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert list(key.parent.iterdir()) == [key]  # no draft left behind
    state = SymbolState("AAPL", CoreConfig())
    assert codecs[0].decode(codecs[1].encode(state), CoreConfig()).symbol == "AAPL"


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    state_codec(settings(tmp_path))
    (tmp_path / "data" / "state.key").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        state_codec(settings(tmp_path))


def test_production_wants_the_operators_key_and_it_must_be_long(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TICKCAST_STATE_KEY is required in production"):
        state_codec(settings(tmp_path, environment="production"))
    assert not (tmp_path / "data").exists()
    with pytest.raises(ConfigError, match="32 characters"):
        state_codec(settings(tmp_path, state_key=SecretStr("short")))
    given = state_codec(settings(tmp_path, environment="production", state_key=SecretStr("k" * 32)))
    assert len(given.key_id) == 16


def test_an_old_key_keeps_reading_while_the_new_one_signs(tmp_path: Path) -> None:
    old, new = SecretStr("o" * 40), SecretStr("n" * 40)
    written = state_codec(settings(tmp_path, state_key=old)).encode(
        SymbolState("AAPL", CoreConfig())
    )
    rotating = state_codec(
        settings(tmp_path, state_key=new, state_keys_accepted=SecretStr(f" {'x' * 32}, {'o' * 40}"))
    )
    assert rotating.decode(written, CoreConfig()).symbol == "AAPL"
    assert rotating.key_id == state_codec(settings(tmp_path, state_key=new)).key_id
