// Models: every model's rolling quality for one symbol, and which one is served.
import { useEffect, useState } from "react";

import { ApiError, quality, type Quality } from "../api";

const REFRESH_MS = 5000;
const show = (x: number | null, digits = 3) => (x === null ? "–" : x.toFixed(digits));

export function Models({ symbol }: { symbol: string | null }) {
  const [data, setData] = useState<Quality | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!symbol) return;
    let current = true;
    const load = () =>
      quality(symbol)
        .then((q) => current && (setData(q), setError(null)))
        .catch((e: unknown) => current && setError(e instanceof ApiError ? e.message : String(e)));
    load();
    const timer = setInterval(load, REFRESH_MS); // new metric rows land every few seconds
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [symbol]);

  if (error) return <p className="banner" role="status">{error}</p>;
  if (!data) return <p>Loading…</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>model</th>
          <th>MAE / random walk</th>
          <th>hit rate</th>
          <th>coverage</th>
          <th>outcomes</th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(data.models).map(([name, m]) => (
          <tr key={name} className={name === data.selected ? "served" : undefined}>
            <td>
              {name}
              {name === data.selected && " (served)"}
            </td>
            <td>{show(m.mae_ratio)}</td>
            <td>{show(m.hit_rate)}</td>
            <td>{show(m.coverage)}</td>
            <td>{m.n ?? "–"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
