from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tickcast.config import Settings, load_settings
from tickcast.exceptions import ConfigError

ENV_EXAMPLE = Path(__file__).parents[2] / ".env.example"


@pytest.fixture(autouse=True)
def no_tickcast_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the TICKCAST_* variables it sets."""
    import os

    for key in list(os.environ):
        if key.startswith("TICKCAST_"):
            monkeypatch.delenv(key)


def test_defaults_are_embedded() -> None:
    settings = load_settings()
    assert settings.clickhouse_url == "chdb://./data/olap"
    assert settings.redis_url == ""


def test_environment_is_read_and_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKCAST_HORIZON", "5")
    monkeypatch.setenv("TICKCAST_MODELS", "linear, tree")
    monkeypatch.setenv("TICKCAST_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.horizon == 5
    assert settings.model_names == ["linear", "tree"]
    assert settings.log_level == "DEBUG"


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKCAST_API_PORT", "9000")
    assert load_settings(api_port=9001).api_port == 9001
    assert load_settings(api_port=None).api_port == 9000  # a flag not given


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("PARTITIONS", "x", r"TICKCAST_PARTITIONS='x': Input should be a valid integer"),
        ("API_PORT", "70000", r"TICKCAST_API_PORT='70000': Input should be less than or equal"),
        ("CLICKHOUSE_FORECASTS", "every", r"TICKCAST_CLICKHOUSE_FORECASTS='every': .*'served'"),
        ("FLUSH_INTERVAL_S", "0", r"TICKCAST_FLUSH_INTERVAL_S='0': Input should be greater"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, reason: str
) -> None:
    monkeypatch.setenv(f"TICKCAST_{name}", value)
    with pytest.raises(ConfigError, match=reason):
        load_settings()


def test_a_misspelled_variable_is_warned_about_with_the_nearest_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TICKCAST_HORIZN", "3")
    with caplog.at_level(logging.WARNING):
        settings = load_settings()
    assert settings.horizon == 1
    assert "TICKCAST_HORIZN is not a tickcast setting (did you mean TICKCAST_HORIZON?)" in (
        caplog.text
    )


def test_settings_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        load_settings().horizon = 2  # type: ignore[misc]


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = [line for line in ENV_EXAMPLE.read_text().splitlines() if line.startswith("TICKCAST_")]
    listed = dict(line.split("=", 1) for line in lines)
    assert set(listed) == {f"TICKCAST_{name.upper()}" for name in Settings.model_fields}
    defaults = Settings.model_construct()
    for key, value in listed.items():
        default = getattr(defaults, key.removeprefix("TICKCAST_").lower())
        if isinstance(default, bool):
            assert value == str(default).lower(), key
        else:
            assert type(default)(value) == default, key
