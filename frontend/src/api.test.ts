import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError, quality, REOPEN_MS, type StreamState, subscribe } from "./api";
import { forecast } from "./test/fixtures";

afterEach(() => vi.unstubAllGlobals());

describe("requests", () => {
  it("names a store that is down with the API's own reason", async () => {
    const body = { detail: "latest store unavailable: ConnectionError" };
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => new Response(JSON.stringify(body), { status: 503 })),
    );
    await expect(quality("AAPL")).rejects.toEqual(
      new ApiError(503, "latest store unavailable: ConnectionError"),
    );
  });

  it("says so when the API does not answer at all", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Promise.reject(new TypeError("refused"))),
    );
    await expect(quality("AAPL")).rejects.toMatchObject({
      status: 0,
      message: "the API does not answer",
    });
  });
});

class FakeSource {
  static CLOSED = 2;
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  listeners: Record<string, (event: MessageEvent<string>) => void> = {};
  closed = false;
  addEventListener(name: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners[name] = listener;
  }
  close() {
    this.closed = true;
  }
}

describe("the live stream", () => {
  it("delivers forecasts and reports whether it flows", () => {
    vi.stubGlobal("EventSource", FakeSource);
    const fake = new FakeSource();
    const got: string[] = [];
    const states: StreamState[] = [];
    const stop = subscribe(
      (f) => got.push(f.symbol),
      (s) => states.push(s),
      () => fake as unknown as EventSource,
    );
    fake.onopen?.();
    fake.listeners.forecast(new MessageEvent("forecast", { data: JSON.stringify(forecast()) }));
    fake.readyState = 0; // the browser retries by itself
    fake.onerror?.();
    fake.readyState = FakeSource.CLOSED;
    fake.onerror?.();
    stop();
    expect(got).toEqual(["AAPL"]);
    expect(states).toEqual(["connecting", "open", "reconnecting", "down"]);
    expect(fake.closed).toBe(true);
  });

  it("opens a new stream after the browser gave up, until it works", () => {
    vi.useFakeTimers();
    vi.stubGlobal("EventSource", FakeSource);
    const opened: FakeSource[] = [];
    const states: StreamState[] = [];
    const stop = subscribe(
      () => undefined,
      (s) => states.push(s),
      () => {
        opened.push(new FakeSource());
        return opened.at(-1) as unknown as EventSource;
      },
    );
    opened[0].readyState = FakeSource.CLOSED; // a 502 from a proxy while the API restarts
    opened[0].onerror?.();
    vi.advanceTimersByTime(REOPEN_MS);
    expect(opened).toHaveLength(2);
    opened[1].onopen?.();
    expect(states).toEqual(["connecting", "down", "connecting", "open"]);
    stop();
    expect(opened[1].closed).toBe(true);
    vi.useRealTimers();
  });
});
