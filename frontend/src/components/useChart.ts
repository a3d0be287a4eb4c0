// One place for what every chart shares: a time axis in UTC with seconds, a crosshair with
// values, its size following its box, and its removal when the page goes.
import {
  ColorType,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type SeriesType,
} from "lightweight-charts";
import { type RefObject, useEffect, useRef, useState } from "react";

const removed = new WeakSet<IChartApi>();

/** A page's series off its chart, unless the chart itself went first (a page leaving runs
 * useChart's clean-up before the series'). */
export function removeSeries(chart: IChartApi, series: ISeriesApi<SeriesType>[]): void {
  if (!removed.has(chart)) series.forEach((s) => chart.removeSeries(s));
}

export function useChart(): [RefObject<HTMLDivElement | null>, IChartApi | null] {
  const container = useRef<HTMLDivElement>(null);
  const [chart, setChart] = useState<IChartApi | null>(null);

  useEffect(() => {
    if (!container.current) return;
    const made = createChart(container.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#ffffff" }, textColor: "#333" },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    setChart(made);
    return () => {
      setChart(null);
      removed.add(made);
      made.remove();
    };
  }, []);

  return [container, chart];
}

/** Points at most one per second (the chart's time unit), ascending: the last of each wins. */
export function perSecond<T>(
  items: T[],
  time: (item: T) => number,
  value: (item: T) => number,
): { time: number; value: number }[] {
  const points = new Map<number, number>();
  for (const item of items) points.set(time(item), value(item));
  return [...points.entries()].sort(([a], [b]) => a - b).map(([t, v]) => ({ time: t, value: v }));
}
