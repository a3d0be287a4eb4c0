// The API's responses as the pages use them, and the live stream with its reconnection.

export interface Forecast {
  symbol: string;
  ts: string; // ISO-8601, UTC
  seq: number;
  horizon: number;
  price: number;
  predicted_return: number;
  predicted_price: number;
  lower: number;
  upper: number;
  interval_level: number;
  p_up: number;
  model: string;
  model_version: string;
}

export interface ModelQuality {
  based_on: string | null;
  n: number | null;
  mae: number | null;
  mae_ratio: number | null;
  hit_rate: number | null;
  coverage: number | null;
}

export interface Quality {
  symbol: string;
  selected: string | null;
  models: Record<string, ModelQuality>;
}

/** Why a request failed, in one line a page can show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function get<T>(path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path);
  } catch {
    throw new ApiError(0, "the API does not answer");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const detail = typeof body.detail === "string" ? body.detail : response.statusText;
    throw new ApiError(response.status, detail);
  }
  return (await response.json()) as T;
}

export const symbols = () => get<string[]>("/symbols");
export const quality = (symbol: string) =>
  get<Quality>(`/symbols/${encodeURIComponent(symbol)}/quality`);
export const history = (symbol: string, limit = 500) =>
  get<Forecast[]>(`/forecasts/${encodeURIComponent(symbol)}/history?limit=${limit}`);

/** Seconds since the epoch, as the chart's time axis takes them. */
export function epochSeconds(ts: string): number {
  return Math.floor(Date.parse(ts) / 1000);
}

export type StreamState = "connecting" | "open" | "down";

/**
 * The live stream of served forecasts. The browser's EventSource reconnects by itself (the
 * server asks for 2 s); `onState` tells the page whether forecasts are flowing.
 */
export function subscribe(
  onForecast: (forecast: Forecast) => void,
  onState: (state: StreamState) => void,
  source: (url: string) => EventSource = (url) => new EventSource(url),
): () => void {
  const events = source("/stream");
  onState("connecting");
  events.onopen = () => onState("open");
  events.onerror = () => onState(events.readyState === EventSource.CLOSED ? "down" : "connecting");
  events.addEventListener("forecast", (event) => {
    onForecast(JSON.parse((event as MessageEvent<string>).data) as Forecast);
  });
  return () => events.close();
}
