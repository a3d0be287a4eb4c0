// Models: every model's rolling quality for one symbol, which one is served and since when,
// and the registry's champion and challenger versions.
import { useMemo } from "react";

import { quality, versions } from "../api";
import { show, useRefreshed, when } from "./refresh";

export function Models({ symbol }: { symbol: string | null }) {
  const scores = useRefreshed(useMemo(() => (symbol ? () => quality(symbol) : null), [symbol]));
  const registry = useRefreshed(useMemo(() => (symbol ? () => versions(symbol) : null), [symbol]));
  const data = scores.data;

  if (scores.error)
    return (
      <p className="banner" role="status">
        {scores.error}
      </p>
    );
  if (!data) return <p>Loading…</p>;
  return (
    <section>
      <p data-testid="served">
        served: <b>{data.selected ?? "–"}</b> since {when(data.served_since)}
      </p>
      <table className="data">
        <thead>
          <tr>
            <th>model</th>
            <th>MAE / random walk</th>
            <th>hit rate</th>
            <th>coverage</th>
            <th>interval score</th>
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
              <td>{show(m.interval_score, 5)}</td>
              <td>{m.n ?? "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Registry</h2>
      {registry.error ? (
        <p className="banner" role="status">
          {registry.error}
        </p>
      ) : !registry.data ? (
        <p>Loading…</p>
      ) : (
        <>
          <p data-testid="aliases">
            champion: <b>{registry.data.champion ?? "none"}</b>
            {registry.data.pinned && " (pinned by an operator)"} · challenger:{" "}
            <b>{registry.data.challenger ?? "none"}</b>
          </p>
          <table className="data">
            <thead>
              <tr>
                <th>version</th>
                <th>checkpoint at</th>
                <th>served model</th>
                <th>MAE / random walk</th>
                <th>aliases</th>
                <th>from</th>
              </tr>
            </thead>
            <tbody>
              {registry.data.versions.map((v) => (
                <tr key={v.version}>
                  <td>{v.version}</td>
                  <td>{when(v.ts)}</td>
                  <td>{v.selected_model}</td>
                  <td>{show(v.served_mae_ratio)}</td>
                  <td>{v.aliases.join(", ")}</td>
                  <td>{v.origin}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
