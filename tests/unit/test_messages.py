"""The wire format: ticks decoded from JSON, forecasts and the forecasts topic's messages."""

from __future__ import annotations

import pytest

from tickcast.messages import (
    MAX_MESSAGE_BYTES,
    decode_tick,
    dumps,
    forecast_from_json,
    forecasts_from_message,
)
from tickcast.online_model import CoreConfig
from tickcast.producers import synthetic_ticks
from tickcast.records import Forecast, InvalidTickError, parse_tick
from tickcast.stream_processors import Pipeline

TS = 1_700_000_000_000


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object, got list"),
        (b'{"symbol": "AAPL", "ts": 1700000000000, "price": null}', "price is missing"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "exceeds"),
    ],
)
def test_decode_rejects_malformed_messages(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidTickError) as info:
        decode_tick(payload)
    assert reason in info.value.reason


def test_forecast_round_trips_through_json() -> None:
    forecast = Forecast(
        "AAPL", TS, 2, 1, "linear", "abc", "linear", 10.0, 0.01, 10.1, 9.0, 11.0, 0.9, 0.6
    )
    assert forecast_from_json(dumps(forecast)) == forecast


def test_the_cores_messages_read_back_as_every_models_forecast_of_each_tick() -> None:
    pipeline = Pipeline(CoreConfig(), messages=True)
    pipeline.step([parse_tick(r) for r in synthetic_ticks(300, 3)])
    outputs = pipeline.take()
    messages = outputs.messages()
    assert len(messages) == 300
    read = [f for key, value in messages for f in forecasts_from_message(value)]
    assert all(key == forecasts_from_message(value)[0].symbol.encode() for key, value in messages)
    assert read == outputs.forecasts()
