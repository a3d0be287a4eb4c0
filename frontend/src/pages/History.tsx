// History: the served forecasts against their outcomes for a chosen range, from ClickHouse:
// the realised return beside the predicted one and its interval, and how often it held.
import { LineSeries, LineStyle, type UTCTimestamp } from "lightweight-charts";
import { type FormEvent, useEffect, useMemo, useState } from "react";

import { epochSeconds, type Outcome, outcomes } from "../api";
import { perSecond, removeSeries, useChart } from "../components/useChart";
import { show, useRefreshed } from "./refresh";

export interface Summary {
  n: number;
  coverage: number | null;
  hitRate: number | null;
  mae: number | null;
}

/** How the forecasts in view did: share inside the interval, direction right, mean |error|. */
export function summarise(rows: Outcome[]): Summary {
  const n = rows.length;
  if (!n) return { n, coverage: null, hitRate: null, mae: null };
  const mean = (f: (o: Outcome) => number) => rows.reduce((sum, o) => sum + f(o), 0) / n;
  return {
    n,
    coverage: mean((o) => (o.inside ? 1 : 0)),
    hitRate: mean((o) => (o.p_up > 0.5 === o.realised_return > 0 ? 1 : 0)),
    mae: mean((o) => Math.abs(o.realised_return - o.predicted_return)),
  };
}

function OutcomesChart({ rows }: { rows: Outcome[] }) {
  const [container, chart] = useChart();
  useEffect(() => {
    if (!chart) return;
    const band = { color: "#2a9d8f", lineStyle: LineStyle.Dashed, lineWidth: 1 as const };
    const lines: [string, object, (o: Outcome) => number][] = [
      [
        "realised",
        { color: "#264653", lineVisible: false, pointMarkersVisible: true, pointMarkersRadius: 2 },
        (o) => o.realised_return,
      ],
      ["predicted", { color: "#e76f51", lineWidth: 2 }, (o) => o.predicted_return],
      ["upper", band, (o) => o.upper_return],
      ["lower", band, (o) => o.lower_return],
    ];
    const added = lines.map(([title, options, value]) => {
      const line = chart.addSeries(LineSeries, { ...options, title });
      const points = perSecond(rows, (o) => epochSeconds(o.ts), value);
      line.setData(points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value })));
      return line;
    });
    chart.timeScale().fitContent();
    return () => removeSeries(chart, added);
  }, [chart, rows]);
  return <div className="chart" data-testid="history-chart" ref={container} />;
}

/** A datetime-local input's value (read as UTC) as the API's ISO time; empty stays empty. */
export const utcIso = (local: string) =>
  local ? `${local.length === 16 ? `${local}:00` : local}Z` : "";

function TimeInput({
  label,
  value,
  set,
}: {
  label: string;
  value: string;
  set: (value: string) => void;
}) {
  return (
    <label>
      {label} (UTC){" "}
      <input
        type="datetime-local"
        step="1"
        aria-label={label}
        value={value}
        onChange={(e) => set(e.target.value)}
      />
    </label>
  );
}

export function History({ symbol }: { symbol: string | null }) {
  const [range, setRange] = useState({ start: "", end: "" });
  const [draft, setDraft] = useState(range);
  const { data, error } = useRefreshed(
    useMemo(
      () => (symbol ? () => outcomes(symbol, utcIso(range.start), utcIso(range.end)) : null),
      [symbol, range],
    ),
    null, // a chosen range does not change; load it once
  );
  const summary = useMemo(() => summarise(data?.outcomes ?? []), [data]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setRange(draft);
  };

  return (
    <section>
      <form onSubmit={submit} className="range">
        <TimeInput
          label="from"
          value={draft.start}
          set={(start) => setDraft({ ...draft, start })}
        />
        <TimeInput label="to" value={draft.end} set={(end) => setDraft({ ...draft, end })} />
        <button type="submit">show</button>
        <small>empty: the newest outcomes</small>
      </form>
      {error ? (
        <p className="banner" role="status">
          {error}
        </p>
      ) : !data ? (
        <p>Loading…</p>
      ) : (
        <>
          <p data-testid="summary">
            {summary.n} outcome(s)
            {data.truncated &&
              (range.start ? " (the first of more in the range)" : " (the newest)")}{" "}
            · coverage {show(summary.coverage)} · hit rate {show(summary.hitRate)} · MAE{" "}
            {show(summary.mae, 5)}
          </p>
          <OutcomesChart rows={data.outcomes} />
        </>
      )}
    </section>
  );
}
