// The price so far (a line, or candles: the ticks' own bars where the source had them, else
// runs of CANDLE_TICKS ticks) and the served forecast ahead of the last tick: its predicted
// price and its interval band.
import {
  CandlestickSeries,
  type CandlestickData,
  type ISeriesApi,
  LineSeries,
  LineStyle,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect } from "react";

import { epochSeconds, type Forecast, type Tick } from "../api";
import { perSecond, removeSeries, useChart } from "./useChart";

export const CANDLE_TICKS = 5;
export type PriceStyle = "line" | "candles";

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
  return perSecond(
    forecasts,
    (f) => epochSeconds(f.ts),
    (f) => f.price,
  ).map((p) => ({
    time: p.time as UTCTimestamp,
    value: p.value,
  }));
}

/** Open, high, low and close of each run of `per` consecutive prices, stamped at its first. */
export function candles(
  forecasts: Forecast[],
  per = CANDLE_TICKS,
): CandlestickData<UTCTimestamp>[] {
  const points = pricePoints(forecasts);
  const bars: CandlestickData<UTCTimestamp>[] = [];
  for (let i = 0; i < points.length; i += per) {
    const run = points.slice(i, i + per).map((p) => p.value);
    bars.push({
      time: points[i].time,
      open: run[0],
      high: Math.max(...run),
      low: Math.min(...run),
      close: run[run.length - 1],
    });
  }
  return bars;
}

/** The ticks' own bars, one per second (the last wins), when every tick has one; else null. */
export function tickBars(ticks: Tick[]): CandlestickData<UTCTimestamp>[] | null {
  if (!ticks.length || ticks.some((t) => t.open === null || t.high === null || t.low === null)) {
    return null;
  }
  const bars = new Map<number, CandlestickData<UTCTimestamp>>();
  for (const t of ticks) {
    const time = epochSeconds(t.ts) as UTCTimestamp;
    bars.set(time, { time, open: t.open!, high: t.high!, low: t.low!, close: t.close ?? t.price });
  }
  return [...bars.values()].sort((a, b) => a.time - b.time);
}

export function ForecastChart({
  forecasts,
  style = "line",
  bars = null,
}: {
  forecasts: Forecast[];
  style?: PriceStyle;
  bars?: CandlestickData<UTCTimestamp>[] | null; // the ticks' own; else candles of runs
}) {
  const [container, chart] = useChart();

  useEffect(() => {
    if (!chart || !forecasts.length) return;
    const band = { color: "#2a9d8f", lineStyle: LineStyle.Dashed, lineWidth: 1 as const };
    const added: ISeriesApi<"Line" | "Candlestick">[] = [];
    const points = pricePoints(forecasts);
    if (style === "candles") {
      const price = chart.addSeries(CandlestickSeries, { title: "price" });
      price.setData(bars ?? candles(forecasts));
      added.push(price);
    } else {
      const price = chart.addSeries(LineSeries, { color: "#264653", lineWidth: 2, title: "price" });
      price.setData(points);
      added.push(price);
    }
    const ahead = aheadOf(forecasts);
    const last = forecasts[forecasts.length - 1];
    const from = points[points.length - 1];
    if (ahead !== null && ahead > from.time) {
      const to = ahead as UTCTimestamp;
      const lines: [string, object, number][] = [
        ["forecast", { color: "#e76f51", lineWidth: 2 }, last.predicted_price],
        ["upper", band, last.upper],
        ["lower", band, last.lower],
      ];
      for (const [title, options, value] of lines) {
        const line = chart.addSeries(LineSeries, { ...options, title });
        line.setData([from, { time: to, value }]);
        added.push(line);
      }
    }
    chart.timeScale().fitContent(); // the whole kept window, as a monitor shows it
    return () => removeSeries(chart, added);
  }, [chart, forecasts, style, bars]);

  return <div className="chart" data-testid="chart" ref={container} />;
}
