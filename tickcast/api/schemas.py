"""What the API promises: response models, separate from the internal records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field

from tickcast.contract import Detector, DriftKind, Reaction
from tickcast.records import Forecast

__all__ = [
    "DriftEventOut",
    "ErrorOut",
    "ForecastOut",
    "HealthOut",
    "LatestOut",
    "ModelQualityOut",
    "OutcomeOut",
    "OutcomesOut",
    "QualityOut",
    "ReadyOut",
    "TickOut",
    "VersionOut",
    "VersionsOut",
]


class ForecastOut(BaseModel):
    symbol: str
    ts: datetime = Field(description="event time of the tick the forecast was made at (UTC)")
    seq: int = Field(0, description="the tick's number within its millisecond (usually 0)")
    horizon: int = Field(description="ticks ahead")
    price: float = Field(description="price at ts")
    predicted_return: float = Field(description="forecast log return over the horizon")
    predicted_price: float
    lower: float = Field(description="lower bound of the price interval")
    upper: float = Field(description="upper bound of the price interval")
    interval_level: float = Field(description="nominal coverage of [lower, upper]")
    p_up: float = Field(description="probability that the price rises over the horizon")
    model: str = Field(description="the model the served forecast comes from")
    model_version: str = Field(
        description="fingerprint of the served model's spec: it changes when the spec does"
    )

    @classmethod
    def of(cls, forecast: Forecast) -> ForecastOut:
        return cls(
            symbol=forecast.symbol,
            ts=utc(forecast.ts),
            seq=forecast.seq,
            horizon=forecast.horizon,
            price=forecast.price,
            predicted_return=forecast.predicted_return,
            predicted_price=forecast.predicted_price,
            lower=forecast.lower,
            upper=forecast.upper,
            interval_level=forecast.level,
            p_up=forecast.p_up,
            model=forecast.based_on,
            model_version=forecast.model_fingerprint,
        )


class LatestOut(BaseModel):
    forecasts: list[ForecastOut]
    missing: list[str] = Field(default_factory=list, description="requested, but no forecast")


class ErrorOut(BaseModel):
    """Why a request could not be answered (404: nothing known; 503: a store is down)."""

    detail: str


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    checks: dict[str, str]


def utc(ms: int) -> datetime:
    """Epoch milliseconds (the records' event time) as the API's UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


M = TypeVar("M", bound=BaseModel)


class FromRecord(BaseModel):
    """A response made of a record's fields of the same names (others are left out), its
    event times (epoch ms) as UTC datetimes."""

    @classmethod
    def of(cls: type[M], record: Any) -> M:
        values = {name: getattr(record, name) for name in cls.model_fields}
        times = {name: utc(values[name]) for name in ("ts", "label_ts") if name in values}
        return cls.model_validate(values | times)


class ModelQualityOut(BaseModel):
    """One forecaster's newest rolling scores (null where a score is not defined yet)."""

    based_on: str = Field(description="the model behind the forecaster (for served: the chosen)")
    n: int = Field(description="outcomes in the rolling window")
    mae: float | None
    mae_ratio: float | None = Field(description="MAE over the random walk's (below 1: better)")
    hit_rate: float | None = Field(description="share of outcomes whose direction was right")
    coverage: float | None = Field(description="share of outcomes inside the interval")
    interval_score: float | None = Field(description="Winkler score of the interval (lower wins)")


class QualityOut(BaseModel):
    symbol: str
    selected: str | None = Field(description="the model the served forecast comes from")
    served_since: datetime | None = Field(
        description="event time of the first metrics row since the served model last changed"
    )
    models: dict[str, ModelQualityOut]


class OutcomeOut(FromRecord):
    """A served forecast beside what happened: returns over the horizon, log scale."""

    ts: datetime = Field(description="event time the forecast was made at")
    seq: int
    label_ts: datetime = Field(description="event time the outcome was known at")
    horizon: int
    predicted_return: float
    realised_return: float
    lower_return: float
    upper_return: float
    inside: bool = Field(description="whether the outcome fell inside the interval")
    p_up: float


class OutcomesOut(BaseModel):
    symbol: str
    outcomes: list[OutcomeOut] = Field(description="oldest first")
    truncated: bool = Field(description="more outcomes fall in the range than were returned")


class DriftEventOut(FromRecord):
    ts: datetime
    model: str = Field(description="the forecaster, or empty for drift in the data")
    detector: Detector
    kind: DriftKind
    feature: str = Field(description="what was watched: abs_error, a feature, served_return...")
    value: float
    threshold: float
    reaction: Reaction = Field(description="what the learner did about it")


class VersionOut(FromRecord):
    version: int
    ts: datetime = Field(description="event time of the checkpoint")
    n_labels: int
    selected_model: str
    runner_up_model: str
    served_mae_ratio: float | None
    aliases: list[str]
    origin: Literal["worker", "replay"] = Field(
        description="a live worker's checkpoint (it moves the aliases) or a replay's"
    )


class VersionsOut(BaseModel):
    symbol: str
    champion: int | None = Field(description="the version a starting worker warms from")
    challenger: int | None = Field(description="the newest version a live worker checkpointed")
    pinned: bool = Field(description="an operator chose the champion; checkpoints leave it")
    versions: list[VersionOut] = Field(description="newest first, at most the limit")


class TickOut(FromRecord):
    """A stored tick; open, high, low and close where the source had bars (yfinance)."""

    ts: datetime
    seq: int
    price: float
    volume: float | None
    open: float | None
    high: float | None
    low: float | None
    close: float | None
