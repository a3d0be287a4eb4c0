"""Model specs from a TOML file: read, validated with errors that name what is wrong."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tickcast.exceptions import ConfigError
from tickcast.online_model import CoreConfig
from tickcast.online_model.core_config import config_from_mapping

EXAMPLE = Path(__file__).parents[2] / "models.example.toml"


def test_the_example_file_gives_the_default_set_with_its_hyper_parameters() -> None:
    config = config_from_mapping(tomllib.loads(EXAMPLE.read_text()))
    assert config == CoreConfig()  # the example spells out the defaults
    huber = dict(config.models[3].params)
    assert (config.models[3].name, huber["loss"], huber["optimizer"]) == ("huber", "huber", "adam")


def test_a_file_sets_models_windows_horizon_and_level() -> None:
    config = config_from_mapping(
        {
            "horizon": 5,
            "level": 0.8,
            "windows": [3, 10, 30],
            "models": {
                "adagrad_abs": {
                    "kind": "linear",
                    "loss": "absolute",
                    "optimizer": "adagrad",
                    "lr": 0.01,
                    "l1": 0.001,
                }
            },
        }
    )
    assert (config.horizon, config.level, config.windows) == (5, 0.8, (3, 10, 30))
    assert [m.name for m in config.models] == ["random_walk", "adagrad_abs"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"horizn": 1}, r"unknown setting\(s\) horizn"),
        ({"models": {"x": {"loss": "huber"}}}, r"\[models.x\] needs kind"),
        ({"models": {"x": {"kind": "forest"}}}, "kind must be one of"),
        ({"models": {"x": {"kind": "linear", "loss": "cubic"}}}, "loss 'cubic' does not apply"),
        ({"models": {"x": {"kind": "linear", "optimizer": "rmsprop"}}}, "optimizer must be"),
        ({"models": {"x": {"kind": "linear", "lr": -1.0}}}, "lr must be a positive number"),
        ({"models": {"x": {"kind": "linear", "l3": 1.0}}}, "l3"),
        ({"windows": [1, 5]}, "windows must be within"),
        ({"level": 1.5}, "interval level"),
        ({"models": ["linear"]}, "models must be tables"),
    ],
)
def test_bad_files_name_the_problem(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping(data)
