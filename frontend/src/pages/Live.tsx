// Live: one symbol's price and served forecast as they arrive over the stream.
import { useMemo, useState } from "react";

import { type Forecast, type StreamState, ticks, unreachableStores } from "../api";
import {
  CANDLE_TICKS,
  ForecastChart,
  type PriceStyle,
  tickBars,
} from "../components/ForecastChart";
import { REFRESH_MS, useRefreshed } from "./refresh";

const MESSAGES: Record<StreamState, string> = {
  connecting: "connecting to the live stream…",
  open: "",
  reconnecting: "the live stream dropped: reconnecting…",
  down: "the API is down: trying again every few seconds",
};
// down, but the API (or the proxy before it) answers: only the stream is missing
const STREAM_DOWN = "the live stream is down: trying again every few seconds";
const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

export function Live({
  symbol,
  forecasts,
  state,
}: {
  symbol: string | null;
  forecasts: Forecast[];
  state: StreamState;
}) {
  const last = forecasts.at(-1);
  const [style, setStyle] = useState<PriceStyle>("line");
  const stored = useRefreshed(
    useMemo(() => (symbol && style === "candles" ? () => ticks(symbol) : null), [symbol, style]),
  );
  const bars = useMemo(() => tickBars(stored.data ?? []), [stored.data]);
  const down = useRefreshed(
    useMemo(() => (state === "open" ? null : unreachableStores), [state]),
    REFRESH_MS,
  ).data;
  return (
    <section>
      {state !== "open" && (
        <p className="banner" role="status">
          {state === "down" && down ? STREAM_DOWN : MESSAGES[state]}
          {down?.length ? ` (the API answers; unreachable: ${down.join(", ")} store)` : ""}
        </p>
      )}
      {!symbol || !last ? (
        <p>No forecast yet.</p>
      ) : (
        <>
          <dl className="facts">
            <dt>price</dt>
            <dd data-testid="price">{last.price.toFixed(2)}</dd>
            <dt>forecast ({last.horizon} ahead)</dt>
            <dd>{last.predicted_price.toFixed(2)}</dd>
            <dt>{percent(last.interval_level)} interval</dt>
            <dd>
              {last.lower.toFixed(2)} – {last.upper.toFixed(2)}
            </dd>
            <dt>P(up)</dt>
            <dd data-testid="p-up">{percent(last.p_up)}</dd>
            <dt>served model</dt>
            <dd data-testid="model">
              {last.model} <small>{last.model_version}</small>
            </dd>
          </dl>
          <div role="group" aria-label="price as">
            {(["line", "candles"] as const).map((s) => (
              <button key={s} aria-pressed={s === style} onClick={() => setStyle(s)}>
                {s}
              </button>
            ))}
          </div>
          {style === "candles" && (
            <small data-testid="candles-from">
              {bars
                ? "each tick's own open, high, low and close"
                : `open, high, low and close of each ${CANDLE_TICKS} ticks (the ticks carry no bars)`}
            </small>
          )}
          <ForecastChart forecasts={forecasts} style={style} bars={bars} />
        </>
      )}
    </section>
  );
}
