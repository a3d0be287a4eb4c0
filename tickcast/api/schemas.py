"""What the API promises: response models, separate from the internal records."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from tickcast.records import Forecast

__all__ = ["ErrorOut", "ForecastOut", "HealthOut", "LatestOut", "ReadyOut"]


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
            ts=datetime.fromtimestamp(forecast.ts / 1000, tz=UTC),
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
