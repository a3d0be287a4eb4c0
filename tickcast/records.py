"""The domain records and the validation of ticks: what the core and every store share.

Each record is the single source of its table's columns (``tickcast/stores/schema.sql`` is
checked against them). Every process validates ticks here, so a tick published by a producer,
decoded by a worker and replayed from a file obeys the same rules. A failure raises
:class:`InvalidTickError` with a precise reason; the stream shell turns that reason into a
dead-letter entry instead of stopping. How records become bytes is in ``tickcast.messages``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

from tickcast.contract import METRIC_NAMES, Detector, DriftKind, MetricRow, Reaction
from tickcast.exceptions import TickcastError

__all__ = [
    "METRIC_NAMES",
    "DeadLetter",
    "DriftEvent",
    "Forecast",
    "InvalidTickError",
    "Label",
    "MetricRow",
    "Outcome",
    "RejectCode",
    "Tick",
    "columns",
    "datetime_ms",
    "is_symbol",
    "parse_tick",
    "parse_ts",
]

SYMBOL_RE = re.compile(r"^[A-Za-z0-9.\-^=]{1,16}$")  # whole strings only: use is_symbol
MIN_TS_MS = -2_208_988_800_000  # 1900-01-01T00:00:00Z: long index histories start in the 1920s
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
SECONDS_LIKE_MS = 100_000_000_000  # numbers below this (1973-03 as ms) are epoch seconds
MAX_SEQ = 2**32 - 1
MAX_DIGITS = 20  # a number written with more is no time or sequence number (and int() of
# thousands of digits raises, or takes quadratic time)
OPTIONAL_FIELDS = ("volume", "open", "high", "low", "close")

RejectCode = Literal[
    "too_large",
    "not_json",
    "not_an_object",
    "bad_symbol",
    "bad_ts",
    "bad_seq",
    "bad_price",
    "bad_field",
    "high_below_low",
    "ahead_of_clock",
    "behind_clock",
    "bad_key",
    "symbol_limit",
    "malformed",
]
"""Why a message was rejected, as a bounded code: the Prometheus label (the full reason, which
may quote the offending value, goes to the dead-letter queue)."""


class InvalidTickError(TickcastError, ValueError):
    """A tick that cannot enter the stream; ``reason`` says why in one line, ``code`` is the
    bounded kind of reason."""

    def __init__(self, reason: str, code: RejectCode) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code: RejectCode = code


@dataclass(slots=True)
class Tick:
    """One price observation: ``ts`` is the event time in epoch milliseconds, UTC.

    A tick's identity is (symbol, ts, seq): ``seq`` numbers the ticks of one symbol within one
    millisecond (a trade feed's sequence; 0 when there is only one), so two trades in the same
    millisecond are two ticks, while a re-delivered tick is the same tick again.
    Not frozen: a frozen dataclass costs a microsecond more to build, a third of parsing."""

    symbol: str
    ts: int
    price: float
    seq: int = 0
    volume: float | None = None
    open: float | None = None
    high: float | None = None
    low: float | None = None
    close: float | None = None


@dataclass(slots=True)
class Forecast:
    """A model's forecast of the log return over the next ``horizon`` ticks, made at ``ts``.

    ``model`` is the forecaster's name; the served forecast is the row named ``served`` and
    ``based_on`` names the model it was selected from (for other rows it equals ``model``).
    ``lower``/``upper`` bound the price at the nominal interval ``level``. (symbol, ts, seq,
    model) is the identity: a re-delivered tick produces the very same row again.
    """

    symbol: str
    ts: int
    seq: int
    horizon: int
    model: str
    model_fingerprint: str  # of the spec of the model it is based on (ModelSpec.fingerprint)
    based_on: str
    price: float
    predicted_return: float
    predicted_price: float
    lower: float
    upper: float
    level: float
    p_up: float


@dataclass(slots=True)
class Label:
    """The realised log return over ``horizon`` ticks that matured the forecasts made at
    (``ts``, ``seq``), known at ``label_ts``: one per tick, whatever the number of models."""

    symbol: str
    ts: int
    seq: int
    label_ts: int
    horizon: int
    realised_return: float


@dataclass(slots=True)
class Outcome:
    """A model's forecast made at ``ts`` with its label: the forecast row joined with the
    Label (ClickHouse's ``outcomes`` view is that join)."""

    symbol: str
    ts: int
    seq: int
    label_ts: int
    horizon: int
    model: str
    predicted_return: float
    realised_return: float
    lower_return: float
    upper_return: float
    inside: bool
    p_up: float


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """One detection; ``reaction`` says what the learner did about it."""

    symbol: str
    ts: int
    model: str  # the forecaster, or "" for data drift
    detector: Detector
    kind: DriftKind
    feature: str  # abs_error, a feature name, served_return, signed_error
    value: float
    threshold: float
    reaction: Reaction


@dataclass(slots=True, frozen=True)
class DeadLetter:
    """A message that could not become a tick: the original payload and why."""

    received_at: int
    source: str
    code: RejectCode
    reason: str
    payload: str
    # the message as it arrived, when it arrived as bytes: the dead-letter topic's, not stored
    original: bytes = field(default=b"", metadata={"stored": False})


def columns(record: type) -> list[str]:
    """The stored fields of a record type: its table's columns, in order."""
    return [f.name for f in fields(record) if f.metadata.get("stored", True)]


def is_symbol(text: str) -> bool:
    """Whether ``text`` is a symbol, whole: ``re.match`` with ``$`` would take "AAPL\\n".

    >>> is_symbol("BRK.B"), is_symbol("AAPL\\n"), is_symbol("A B")
    (True, False, False)
    """
    return SYMBOL_RE.fullmatch(text) is not None


def parse_ts(value: Any) -> int:
    """Event time in epoch ms from epoch ms, ISO-8601 (naive = UTC) or a datetime/date."""
    if isinstance(value, bool):
        raise InvalidTickError(f"ts must be epoch ms or ISO-8601, got boolean {value!r}", "bad_ts")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InvalidTickError(f"ts is not finite: {value!r}", "bad_ts")
        ms = _epoch_ms(int(value))
    elif isinstance(value, str):
        ms = _parse_ts_text(value.strip())
    elif isinstance(value, datetime):
        ms = datetime_ms(value)
    elif isinstance(value, date):
        ms = datetime_ms(datetime(value.year, value.month, value.day))
    elif hasattr(value, "to_pydatetime"):  # pandas.Timestamp without importing pandas here
        ms = datetime_ms(value.to_pydatetime())
    else:
        raise InvalidTickError(
            f"ts must be epoch ms or ISO-8601, got {type(value).__name__}", "bad_ts"
        )
    if not MIN_TS_MS <= ms < MAX_TS_MS:
        raise InvalidTickError(f"ts {value!r} is outside 1900..2100", "bad_ts")
    return ms


def _epoch_ms(ms: int) -> int:
    """A number given as the time: epoch milliseconds. A small positive one is refused (it
    would be a date in 1970-1973 as milliseconds; as seconds it is the usual mistake)."""
    if 0 < ms < SECONDS_LIKE_MS:
        raise InvalidTickError(
            f"ts {ms} looks like epoch seconds? ts is epoch milliseconds (or ISO-8601)", "bad_ts"
        )
    return ms


def _parse_ts_text(text: str) -> int:
    if not text:
        raise InvalidTickError("ts is empty", "bad_ts")
    digits = text.lstrip("-")
    if digits.isascii() and digits.isdigit():  # not str.isdigit alone: "²" is a digit to it
        if len(digits) > MAX_DIGITS:
            raise InvalidTickError(f"ts has {len(digits)} digits: no epoch ms", "bad_ts")
        return _epoch_ms(int(text))
    try:
        return datetime_ms(datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # OverflowError: year 1 in a zone east of UTC
        raise InvalidTickError(
            f"ts {text[:40]!r} is neither epoch ms nor ISO-8601", "bad_ts"
        ) from None


def datetime_ms(moment: datetime) -> int:
    """A datetime as epoch ms; a naive one is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _number(data: Mapping[str, Any], key: str, *, required: bool) -> float | None:
    code: RejectCode = "bad_price" if required else "bad_field"
    value = data.get(key)
    if type(value) is float and value - value == 0.0:  # the common case: a finite float
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidTickError(f"{key} is missing", code)
        return None
    if isinstance(value, bool):
        raise InvalidTickError(f"{key} must be a number, got boolean", code)
    if isinstance(value, str):
        text = value
        try:
            value = float(text)
        except ValueError:
            raise InvalidTickError(f"{key} must be a number, got {text[:40]!r}", code) from None
    elif not isinstance(value, int | float):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise InvalidTickError(
                f"{key} must be a number, got {type(value).__name__}", code
            ) from None
    number = float(value)
    if math.isnan(number):
        if required:
            raise InvalidTickError(f"{key} is NaN", code)
        return None  # a missing optional column in a table reads as NaN
    if not math.isfinite(number):
        raise InvalidTickError(f"{key} is not finite: {number}", code)
    return number


def parse_tick(data: Mapping[str, Any]) -> Tick:
    """Validate one raw record and build a Tick, or raise InvalidTickError with the reason."""
    if not isinstance(data, Mapping):
        raise InvalidTickError(
            f"a tick must be a JSON object, got {type(data).__name__}", "not_an_object"
        )
    symbol = data.get("symbol")
    if not isinstance(symbol, str):
        reason = "symbol is missing" if symbol is None else "symbol must be a string"
        raise InvalidTickError(reason, "bad_symbol")
    if not is_symbol(symbol):
        raise InvalidTickError(
            f"symbol {symbol[:20]!r} must be 1-16 letters, digits, '.', '-', '^' or '='",
            "bad_symbol",
        )
    ts = data.get("ts")
    if type(ts) is int and SECONDS_LIKE_MS <= ts < MAX_TS_MS:  # the common case: epoch ms
        pass
    elif ts is None:
        raise InvalidTickError("ts is missing", "bad_ts")
    else:
        ts = parse_ts(ts)
    seq = data.get("seq", 0)
    if type(seq) is not int:
        seq = _seq(seq)
    if not 0 <= seq <= MAX_SEQ:
        raise InvalidTickError(f"seq must be within 0..{MAX_SEQ}, got {seq}", "bad_seq")
    price = _number(data, "price", required=True)
    if price is None or price <= 0:
        raise InvalidTickError(f"price must be positive, got {price}", "bad_price")
    extras = {key: _number(data, key, required=False) for key in OPTIONAL_FIELDS}
    for key, value in extras.items():
        if value is not None and value < 0:
            raise InvalidTickError(f"{key} must not be negative, got {value}", "bad_field")
    high, low = extras["high"], extras["low"]
    if high is not None and low is not None and high < low:
        raise InvalidTickError(f"high {high} is below low {low}", "high_below_low")
    return Tick(symbol=symbol, ts=ts, price=price, seq=seq, **extras)


def _seq(value: Any) -> int:
    """An optional sequence number: missing or empty is 0; a whole number otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, float) and value.is_integer():
        return int(value)  # a table column read as floats
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit():
        if len(text) > MAX_DIGITS:
            raise InvalidTickError(f"seq has {len(text)} digits: at most {MAX_SEQ}", "bad_seq")
        return int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTickError(f"seq must be a whole number, got {str(value)[:40]!r}", "bad_seq")
    return int(value)
