// The API's responses as the pages use them, and the live stream with its reconnection.
import type { components, paths } from "./api-types";
import { authorization, currentToken, unauthorized } from "./auth";
import { sseParser } from "./sse";

// The API's shapes, generated from its OpenAPI document (api-types.ts, `npm run types`).
type Schemas = components["schemas"];

export type Forecast = Schemas["ForecastOut"];
/** One forecaster's newest rolling scores (null where a score is not defined yet). */
export type ModelQuality = Schemas["ModelQualityOut"];
export type Quality = Schemas["QualityOut"];
/** A stored tick: open, high, low and close where the source had bars (yfinance). */
export type Tick = Schemas["TickOut"];
/** A served forecast beside what happened (log returns over the horizon). */
export type Outcome = Schemas["OutcomeOut"];
export type Outcomes = Schemas["OutcomesOut"];
export type DriftEvent = Schemas["DriftEventOut"];
export type Version = Schemas["VersionOut"];
export type Versions = Schemas["VersionsOut"];

/** The routes whose GET answers JSON, and what (its 200), as the OpenAPI document says. */
type JsonRoute = {
  [P in keyof paths]: paths[P]["get"] extends {
    responses: { 200: { content: { "application/json": unknown } } };
  }
    ? P
    : never;
}[keyof paths];
type Ok<P extends JsonRoute> = paths[P]["get"]["responses"][200]["content"]["application/json"];

/** Why a request failed, in one line a page can show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request to the API with the token, if one is set; a 401 asks the user for one. */
async function request(path: string): Promise<Response> {
  const token = currentToken();
  const response = await fetch(path, { headers: authorization(token) });
  if (response.status === 401) unauthorized(token);
  return response;
}

async function get<T>(path: string): Promise<T> {
  let response: Response;
  try {
    response = await request(path);
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

export const symbols = () => get<Ok<"/symbols">>("/symbols");
export const quality = (symbol: string) =>
  get<Ok<"/symbols/{symbol}/quality">>(`/symbols/${encodeURIComponent(symbol)}/quality`);
export const history = (symbol: string, limit = 500) =>
  get<Ok<"/forecasts/{symbol}/history">>(
    `/forecasts/${encodeURIComponent(symbol)}/history?limit=${limit}`,
  );
export const ticks = (symbol: string, limit = 500) =>
  get<Ok<"/symbols/{symbol}/ticks">>(`/symbols/${encodeURIComponent(symbol)}/ticks?limit=${limit}`);
export const drift = (symbol: string) =>
  get<Ok<"/symbols/{symbol}/drift">>(`/symbols/${encodeURIComponent(symbol)}/drift`);
export const versions = (symbol: string) =>
  get<Ok<"/symbols/{symbol}/versions">>(`/symbols/${encodeURIComponent(symbol)}/versions`);

/** Served forecasts and outcomes in [start, end) (ISO times; the newest when both are empty). */
export function outcomes(symbol: string, start = "", end = "", limit = 5000): Promise<Outcomes> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (start) query.set("start", start);
  if (end) query.set("end", end);
  return get<Ok<"/forecasts/{symbol}/outcomes">>(
    `/forecasts/${encodeURIComponent(symbol)}/outcomes?${query}`,
  );
}

const GATEWAY = [502, 503, 504]; // a proxy's answer: the API behind it does not answer

/** The stores the API found unreachable (its /ready checks, which answer 503 then), null when
 * the API does not answer at all (its /health: a proxy in front still answers, with a 502).
 * None when it answers without naming any: a proxy that keeps /ready private answers 404. */
export async function unreachableStores(): Promise<string[] | null> {
  try {
    const health = await request("/health");
    if (GATEWAY.includes(health.status)) return null;
  } catch {
    return null;
  }
  let response: Response;
  try {
    response = await request("/ready");
  } catch {
    return null;
  }
  const body: unknown = await response.json().catch(() => null);
  const checks = (body as { checks?: unknown } | null)?.checks;
  if (!checks || typeof checks !== "object") return [];
  return Object.entries(checks)
    .filter(([, check]) => check !== "ok")
    .map(([store]) => store);
}

/** Seconds since the epoch, as the chart's time axis takes them. */
export function epochSeconds(ts: string): number {
  return Math.floor(Date.parse(ts) / 1000);
}

/** connecting: the first time; reconnecting: a dropped stream is retried; down: an HTTP error
 * or no answer, and a new stream opens after REOPEN_MS. */
export type StreamState = "connecting" | "open" | "reconnecting" | "down";

export const REOPEN_MS = 3000; // after an HTTP error (e.g. a proxy's 502) or no answer
export const RETRY_MS = 2000; // after a dropped stream, until the server names its own `retry:`

/**
 * The live stream of served forecasts. The browser's EventSource reconnects by itself after a
 * dropped connection (the server asks for 2 s) but gives up on an HTTP error, as a proxy
 * answers while the API restarts: then a new one opens after REOPEN_MS, until it works.
 * EventSource sends no Authorization header: with a token set, the stream is read with fetch
 * instead, in the same states. `onState` tells the page whether forecasts are flowing.
 */
export function subscribe(
  onForecast: (forecast: Forecast) => void,
  onState: (state: StreamState) => void,
  source: (url: string) => EventSource = (url) => new EventSource(url),
): () => void {
  const token = currentToken();
  if (token) return fetchStream(token, onForecast, onState);
  let events: EventSource;
  let reopening: ReturnType<typeof setTimeout> | undefined;
  const open = () => {
    events = source("/stream");
    onState("connecting");
    events.onopen = () => onState("open");
    events.onerror = () => {
      if (events.readyState !== EventSource.CLOSED) return onState("reconnecting");
      onState("down");
      reopening = setTimeout(open, REOPEN_MS);
    };
    events.addEventListener("forecast", (event) => {
      onForecast(JSON.parse((event as MessageEvent<string>).data) as Forecast);
    });
  };
  open();
  return () => {
    clearTimeout(reopening);
    events.close();
  };
}

/** The stream read with fetch, to send the token: EventSource's reconnection by hand. */
function fetchStream(
  token: string,
  onForecast: (forecast: Forecast) => void,
  onState: (state: StreamState) => void,
): () => void {
  let stopped = false;
  let aborting = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retry = RETRY_MS;
  let lastId = "";
  const later = (ms: number, reconnecting: boolean) => {
    timer = setTimeout(() => void open(reconnecting), ms);
  };
  const down = () => {
    onState("down");
    later(REOPEN_MS, false);
  };

  const open = async (reconnecting: boolean) => {
    if (!reconnecting) onState("connecting");
    aborting = new AbortController();
    const headers = { Accept: "text/event-stream", ...authorization(token) };
    let response: Response;
    try {
      response = await fetch("/stream", {
        headers: lastId ? { ...headers, "Last-Event-ID": lastId } : headers,
        cache: "no-store",
        signal: aborting.signal,
      });
    } catch {
      if (!stopped) down(); // refused (or aborted by unsubscribing)
      return;
    }
    if (stopped) return;
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok || !response.body || !type.toLowerCase().startsWith("text/event-stream")) {
      if (response.status === 401) unauthorized(token);
      response.body?.cancel().catch(() => undefined);
      return down();
    }
    onState("open");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const feed = sseParser();
    try {
      for (let done = false; !done;) {
        const read = await reader.read();
        done = read.done;
        if (stopped) return;
        const text = done ? decoder.decode() : decoder.decode(read.value, { stream: true });
        for (const item of feed(text)) {
          if (item.kind === "retry") retry = item.ms;
          else {
            lastId = item.id;
            if (item.event === "forecast") deliver(item.data);
          }
          if (stopped) return;
        }
      }
    } catch {
      if (stopped) return; // aborted by unsubscribing
    }
    onState("reconnecting");
    later(retry, true);
  };
  const deliver = (data: string) => {
    let forecast: Forecast;
    try {
      forecast = JSON.parse(data) as Forecast;
    } catch {
      return; // not a forecast: skipped, the stream goes on
    }
    onForecast(forecast);
  };

  void open(false);
  return () => {
    stopped = true;
    clearTimeout(timer);
    aborting.abort();
  };
}
