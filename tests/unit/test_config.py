from __future__ import annotations

from pathlib import Path

import pytest

from tickcast.config import Settings, load_settings
from tickcast.exceptions import ConfigError


def test_defaults_are_embedded() -> None:
    settings = load_settings({})
    assert settings.clickhouse_url == "chdb://./data/olap"
    assert settings.redis_url == ""


def test_environment_is_read_and_converted() -> None:
    settings = load_settings({"TICKCAST_HORIZON": "5", "TICKCAST_MODELS": "linear, tree"})
    assert settings.horizon == 5
    assert settings.model_names == ["linear", "tree"]


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"TICKCAST_PARTITIONS='x' is not a valid int"):
        load_settings({"TICKCAST_PARTITIONS": "x"})
    with pytest.raises(ConfigError, match="TICKCAST_API_PORT must be a TCP port"):
        load_settings({"TICKCAST_API_PORT": "70000"})
    with pytest.raises(ConfigError, match="TICKCAST_CLICKHOUSE_FORECASTS must be served or all"):
        load_settings({"TICKCAST_CLICKHOUSE_FORECASTS": "every"})


def test_env_example_lists_every_setting() -> None:
    text = (Path(__file__).parents[2] / ".env.example").read_text()
    listed = {line.split("=")[0] for line in text.splitlines() if line.startswith("TICKCAST_")}
    assert listed == {f"TICKCAST_{name.upper()}" for name in Settings.__dataclass_fields__}
