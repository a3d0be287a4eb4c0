// Drift: one symbol's detections over time (how far past its threshold each went) and what
// the learner did about each.
import { HistogramSeries, type UTCTimestamp } from "lightweight-charts";
import { useEffect, useMemo } from "react";

import { drift, type DriftEvent, epochSeconds } from "../api";
import { removeSeries, useChart } from "../components/useChart";
import { show, useRefreshed, when } from "./refresh";

const COLORS: Record<DriftEvent["kind"], string> = {
  concept: "#e76f51",
  data: "#2a9d8f",
  prediction: "#e9c46a",
  bias: "#264653",
};

/** Each event's value over its threshold, the strongest per second, coloured by kind. */
export function driftBars(events: DriftEvent[]) {
  const strongest = new Map<number, DriftEvent>();
  for (const e of events) {
    const t = epochSeconds(e.ts);
    const seen = strongest.get(t);
    if (!seen || ratio(e) > ratio(seen)) strongest.set(t, e);
  }
  return [...strongest.entries()]
    .sort(([a], [b]) => a - b)
    .map(([time, e]) => ({ time: time as UTCTimestamp, value: ratio(e), color: COLORS[e.kind] }));
}

const ratio = (e: DriftEvent) => (e.threshold ? Math.abs(e.value / e.threshold) : 0);

function DriftChart({ events }: { events: DriftEvent[] }) {
  const [container, chart] = useChart();
  useEffect(() => {
    if (!chart) return;
    const bars = chart.addSeries(HistogramSeries, { title: "value / threshold" });
    bars.setData(driftBars(events));
    chart.timeScale().fitContent();
    return () => removeSeries(chart, [bars]);
  }, [chart, events]);
  return <div className="chart short" data-testid="drift-chart" ref={container} />;
}

export function Drift({ symbol }: { symbol: string | null }) {
  const { data, error } = useRefreshed(
    useMemo(() => (symbol ? () => drift(symbol) : null), [symbol]),
  );
  if (error)
    return (
      <p className="banner" role="status">
        {error}
      </p>
    );
  if (!data) return <p>Loading…</p>;
  if (!data.length) return <p data-testid="no-drift">No drift detected for {symbol} yet.</p>;
  return (
    <section>
      <p>
        {data.length} event(s) since {when(data[0].ts)}; colours:{" "}
        {Object.entries(COLORS).map(([kind, color]) => (
          <span key={kind} style={{ color, marginRight: "0.8em" }}>
            ■ {kind}
          </span>
        ))}
      </p>
      <DriftChart events={data} />
      <table className="data">
        <thead>
          <tr>
            <th>time</th>
            <th>kind</th>
            <th>detector</th>
            <th>model</th>
            <th>watched</th>
            <th>value</th>
            <th>threshold</th>
            <th>what was done</th>
          </tr>
        </thead>
        <tbody>
          {[...data].reverse().map((e, i) => (
            <tr key={`${e.ts}-${e.detector}-${e.model}-${e.feature}-${i}`}>
              <td>{when(e.ts)}</td>
              <td>{e.kind}</td>
              <td>{e.detector}</td>
              <td>{e.model || "(data)"}</td>
              <td>{e.feature}</td>
              <td>{show(e.value, 4)}</td>
              <td>{show(e.threshold, 4)}</td>
              <td>{e.reaction}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
