// The price so far and the served forecast ahead of the last tick: its predicted price and
// its interval band, on a time axis with a crosshair (TradingView's lightweight-charts).
import {
  ColorType,
  createChart,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  LineStyle,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "react";

import { epochSeconds, type Forecast } from "../api";

interface Series {
  price: ISeriesApi<"Line">;
  predicted: ISeriesApi<"Line">;
  upper: ISeriesApi<"Line">;
  lower: ISeriesApi<"Line">;
}

/** Where the forecast lands: `horizon` ticks after the last, at the ticks' own spacing. */
export function aheadOf(forecasts: Forecast[]): number | null {
  const n = forecasts.length;
  if (n < 2) return null;
  const last = epochSeconds(forecasts[n - 1].ts);
  const step = Math.max(1, last - epochSeconds(forecasts[n - 2].ts));
  return last + step * forecasts[n - 1].horizon;
}

/** One point per second at most (the chart's time unit): the last forecast of each wins. */
export function pricePoints(forecasts: Forecast[]): { time: UTCTimestamp; value: number }[] {
  const points = new Map<number, number>();
  for (const f of forecasts) points.set(epochSeconds(f.ts), f.price);
  return [...points.entries()]
    .sort(([a], [b]) => a - b)
    .map(([time, value]) => ({ time: time as UTCTimestamp, value }));
}

export function ForecastChart({ forecasts }: { forecasts: Forecast[] }) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<Series | null>(null);

  useEffect(() => {
    if (!container.current) return;
    const made = createChart(container.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#ffffff" }, textColor: "#333" },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    const band = { color: "#2a9d8f", lineStyle: LineStyle.Dashed, lineWidth: 1 as const };
    series.current = {
      price: made.addSeries(LineSeries, { color: "#264653", lineWidth: 2, title: "price" }),
      predicted: made.addSeries(LineSeries, { color: "#e76f51", lineWidth: 2, title: "forecast" }),
      upper: made.addSeries(LineSeries, { ...band, title: "upper" }),
      lower: made.addSeries(LineSeries, { ...band, title: "lower" }),
    };
    chart.current = made;
    return () => {
      made.remove();
      chart.current = null;
      series.current = null;
    };
  }, []);

  useEffect(() => {
    const s = series.current;
    if (!s || !forecasts.length) return;
    const points = pricePoints(forecasts);
    s.price.setData(points);
    const ahead = aheadOf(forecasts);
    const last = forecasts[forecasts.length - 1];
    const from = points[points.length - 1];
    if (ahead === null || ahead <= from.time) return;
    const to = ahead as UTCTimestamp;
    s.predicted.setData([from, { time: to, value: last.predicted_price }]);
    s.upper.setData([from, { time: to, value: last.upper }]);
    s.lower.setData([from, { time: to, value: last.lower }]);
  }, [forecasts]);

  return <div className="chart" data-testid="chart" ref={container} />;
}
