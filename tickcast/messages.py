"""The wire format: ticks, forecasts and the ``forecasts`` topic's messages as JSON bytes.

The shells (producers, the worker, the latest store, consumers of the topic) read and write
records through this module; the core never does. The worker's own messages are written by
the core (``tickcast._core``) in this format; :func:`forecasts_from_message` reads them.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from tickcast.contract import ENTRIES_FIELD, SHARED_FIELDS
from tickcast.records import Forecast, InvalidTickError, Tick, parse_tick

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SHARED_FIELDS",
    "decode_tick",
    "dumps",
    "finite",
    "forecast_from_json",
    "forecasts_from_message",
]

MAX_MESSAGE_BYTES = 64 * 1024


def dumps(record: Any) -> bytes:
    """Serialise a record (dataclass or mapping) to JSON bytes, once."""
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)


def forecast_from_json(data: bytes | str) -> Forecast:
    """Read back a forecast written by :func:`dumps`."""
    return Forecast(**orjson.loads(data))


def forecasts_from_message(data: bytes | str) -> list[Forecast]:
    """The forecasts of one ``forecasts`` topic message (one message per tick: the shared
    fields once, then every model's forecast, the served one named ``served``)."""
    message = orjson.loads(data)
    shared = {k: message[k] for k in SHARED_FIELDS}
    return [Forecast(**shared, **entry) for entry in message[ENTRIES_FIELD]]


def decode_tick(payload: bytes | str) -> Tick:
    """Decode a JSON message into a Tick; any malformation raises InvalidTickError."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise InvalidTickError(
            f"message of {len(payload)} bytes exceeds {MAX_MESSAGE_BYTES}", "too_large"
        )
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidTickError(f"not JSON: {exc}", "not_json") from None
    return parse_tick(data)


def finite(value: Any) -> Any:
    """NaN (a score not defined yet) becomes None, in dicts and lists too: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value
