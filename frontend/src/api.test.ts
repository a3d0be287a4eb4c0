import { afterEach, describe, expect, it, vi } from "vitest";

import { ApiError, quality, type StreamState, subscribe } from "./api";
import { forecast } from "./test/fixtures";

afterEach(() => vi.unstubAllGlobals());

describe("requests", () => {
  it("names a store that is down with the API's own reason", async () => {
    const body = { detail: "latest store unavailable: ConnectionError" };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body), { status: 503 })));
    await expect(quality("AAPL")).rejects.toEqual(
      new ApiError(503, "latest store unavailable: ConnectionError"),
    );
  });

  it("says so when the API does not answer at all", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("refused"))));
    await expect(quality("AAPL")).rejects.toMatchObject({ status: 0, message: "the API does not answer" });
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
    expect(states).toEqual(["connecting", "open", "connecting", "down"]);
    expect(fake.closed).toBe(true);
  });
});
