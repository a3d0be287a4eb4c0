import type { Forecast } from "../api";

export function forecast(overrides: Partial<Forecast> = {}): Forecast {
  return {
    symbol: "AAPL",
    ts: "2024-01-02T09:30:00Z",
    seq: 0,
    horizon: 1,
    price: 100,
    predicted_return: 0.001,
    predicted_price: 100.1,
    lower: 99,
    upper: 101.2,
    interval_level: 0.9,
    p_up: 0.55,
    model: "linear",
    model_version: "ab12cd34",
    ...overrides,
  };
}
