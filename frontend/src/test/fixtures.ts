import { vi } from "vitest";

import type { DriftEvent, Forecast, Outcome } from "../api";

export function forecast(overrides: Partial<Forecast> = {}): Forecast {
  return {
    symbol: "AAPL",
    ts: "2024-01-02T09:30:00Z",
    seq: 0,
    horizon: 1,
    price: 100,
    predicted_return: 0.001,
    predicted_price: 100.1,
    lower: 99,
    upper: 101.2,
    interval_level: 0.9,
    p_up: 0.55,
    model: "linear",
    model_version: "ab12cd34",
    ...overrides,
  };
}

export function outcome(overrides: Partial<Outcome> = {}): Outcome {
  return {
    ts: "2024-01-02T09:30:00Z",
    seq: 0,
    label_ts: "2024-01-02T09:30:01Z",
    horizon: 1,
    predicted_return: 0.001,
    realised_return: 0.002,
    lower_return: -0.01,
    upper_return: 0.012,
    inside: true,
    p_up: 0.6,
    ...overrides,
  };
}

export function driftEvent(overrides: Partial<DriftEvent> = {}): DriftEvent {
  return {
    ts: "2024-01-02T09:30:00Z",
    model: "",
    detector: "psi_ks",
    kind: "data",
    feature: "ret_1",
    value: 0.4,
    threshold: 0.2,
    reaction: "log",
    ...overrides,
  };
}

/** A fetch that answers each path (without its query) from `routes`: [status, JSON body];
 * returns the mock, whose calls say which URLs were asked for. */
export function stubApi(routes: Record<string, [number, unknown]>) {
  const fetch = vi.fn(async (url: string) => {
    const [status, body] = routes[url.split("?")[0]] ?? [404, { detail: `no route ${url}` }];
    return new Response(JSON.stringify(body), { status });
  });
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

/** A text/event-stream response whose body the test writes (`push`) and ends (`end`); aborting
 * `signal` errors it, as a fetch aborted mid-stream does. */
export function eventStream(signal?: AbortSignal | null) {
  let body!: ReadableStreamDefaultController<Uint8Array>;
  const response = new Response(
    new ReadableStream<Uint8Array>({ start: (controller) => void (body = controller) }),
    { headers: { "content-type": "text/event-stream; charset=utf-8" } },
  );
  signal?.addEventListener("abort", () => body.error(new DOMException("aborted", "AbortError")));
  return {
    response,
    push: (text: string) => body.enqueue(new TextEncoder().encode(text)),
    end: () => body.close(),
  };
}

/** The `Authorization` header a stubbed fetch was called with, or null. */
export const authorizationOf = (init?: RequestInit) =>
  new Headers(init?.headers).get("Authorization");
