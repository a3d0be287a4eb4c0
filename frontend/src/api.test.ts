import { afterEach, describe, expect, it, vi } from "vitest";

import {
  ApiError,
  quality,
  REOPEN_MS,
  RETRY_MS,
  type StreamState,
  subscribe,
  unreachableStores,
} from "./api";
import { authState, forgetToken, saveToken, TOKEN_KEY } from "./auth";
import { authorizationOf, eventStream, forecast } from "./test/fixtures";

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  forgetToken();
});

const UNAUTHORIZED = { detail: "this API wants a bearer token: Authorization: Bearer <token>" };
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });

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

describe("the token", () => {
  it("is sent on every request once saved, and kept for the tab", async () => {
    const fetch = vi.fn<(url: string, init?: RequestInit) => Promise<Response>>(async () =>
      json(null),
    );
    vi.stubGlobal("fetch", fetch);
    await quality("AAPL");
    expect(authorizationOf(fetch.mock.calls[0][1])).toBeNull();
    saveToken("s3cret");
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe("s3cret");
    await quality("AAPL");
    await unreachableStores(); // /health, then /ready
    expect(fetch.mock.calls.slice(1).map(([, init]) => authorizationOf(init))).toEqual([
      "Bearer s3cret",
      "Bearer s3cret",
      "Bearer s3cret",
    ]);
    forgetToken();
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
    await quality("AAPL");
    expect(authorizationOf(fetch.mock.calls[4][1])).toBeNull();
  });

  it("is asked for on a 401, and again when the one saved is refused", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => json(UNAUTHORIZED, 401)),
    );
    await expect(quality("AAPL")).rejects.toEqual(new ApiError(401, UNAUTHORIZED.detail));
    expect(authState().need).toBe("wanted");
    saveToken("wrong");
    expect(authState().need).toBeNull();
    await expect(unreachableStores()).resolves.toEqual([]);
    expect(authState().need).toBe("refused");
  });

  it("is not asked for again by a 401 to a request sent before it was saved", async () => {
    let answer: (response: Response) => void = () => undefined;
    vi.stubGlobal(
      "fetch",
      vi.fn(() => new Promise<Response>((resolve) => (answer = resolve))),
    );
    const asked = quality("AAPL");
    saveToken("s3cret");
    answer(json(UNAUTHORIZED, 401));
    await expect(asked).rejects.toMatchObject({ status: 401 });
    expect(authState().need).toBeNull();
  });
});

describe("the stores' checks", () => {
  // the API's /health answers; /ready answers `response` (a proxy's 502s answer for both)
  const answering = (response: () => Response) =>
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        const ready = response();
        return url === "/health" && ready.status !== 502 ? json({ status: "ok" }) : ready;
      }),
    );

  it("name the stores that are down", async () => {
    answering(() =>
      json({ status: "unavailable", checks: { latest: "unreachable", clickhouse: "ok" } }, 503),
    );
    await expect(unreachableStores()).resolves.toEqual(["latest"]);
  });

  it("name none when /ready is kept private by a proxy (404) or says nothing of stores", async () => {
    answering(() => new Response("<html>404 Not Found</html>", { status: 404 }));
    await expect(unreachableStores()).resolves.toEqual([]);
    answering(() => json({ detail: "Not Found" }, 404));
    await expect(unreachableStores()).resolves.toEqual([]);
    answering(() => json({ checks: "ok" }));
    await expect(unreachableStores()).resolves.toEqual([]);
  });

  it("are null behind a proxy that keeps /ready private while the API is down", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        url === "/health"
          ? new Response("<html>502 Bad Gateway</html>", { status: 502 })
          : new Response("<html>404 Not Found</html>", { status: 404 }),
      ),
    );
    await expect(unreachableStores()).resolves.toBeNull();
  });

  it("are null when the API does not answer, nor its proxy's upstream", async () => {
    answering(() => new Response("<html>502 Bad Gateway</html>", { status: 502 }));
    await expect(unreachableStores()).resolves.toBeNull();
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Promise.reject(new TypeError("refused"))),
    );
    await expect(unreachableStores()).resolves.toBeNull();
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

describe("the live stream with a token", () => {
  /** fetch answering each call in turn: a stream the test writes, a status, or no answer. */
  function server(...answers: ("stream" | number | "refused")[]) {
    const streams: ReturnType<typeof eventStream>[] = [];
    const signals: AbortSignal[] = [];
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
      if (init?.signal) signals.push(init.signal);
      const answer = answers.shift() ?? "refused";
      if (answer === "refused") throw new TypeError("Failed to fetch");
      if (answer !== "stream") return json(answer === 401 ? UNAUTHORIZED : {}, answer);
      streams.push(eventStream(init?.signal));
      return streams.at(-1)!.response;
    });
    vi.stubGlobal("fetch", fetch);
    return { fetch, streams, signals };
  }
  const flush = () => vi.advanceTimersByTimeAsync(0);

  it("reads the stream with fetch, sending the token, and reconnects as the server asks", async () => {
    vi.useFakeTimers();
    const { fetch, streams, signals } = server("stream", "stream");
    saveToken("s3cret");
    const got: string[] = [];
    const states: StreamState[] = [];
    const stop = subscribe(
      (f) => got.push(f.symbol),
      (s) => states.push(s),
      () => {
        throw new Error("no EventSource with a token");
      },
    );
    await flush();
    expect(fetch.mock.calls[0][0]).toBe("/stream");
    expect(authorizationOf(fetch.mock.calls[0][1])).toBe("Bearer s3cret");
    expect(states).toEqual(["connecting", "open"]);

    const data = JSON.stringify(forecast({ symbol: "MSFT" }));
    streams[0].push(": connected\r\nretry: 5000\r\n\r\n: ping\n\nevent: forecast\ndata: ");
    streams[0].push(`${data.slice(0, 20)}`);
    streams[0].push(`${data.slice(20)}\n\n`);
    await flush();
    expect(got).toEqual(["MSFT"]);

    streams[0].end(); // the API restarts
    await flush();
    expect(states.at(-1)).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(4999); // the server's retry, not RETRY_MS
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(states).toEqual(["connecting", "open", "reconnecting", "open"]);

    stop();
    expect(signals[1].aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * REOPEN_MS);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(states).toHaveLength(4);
  });

  it("retries a dropped stream after 2 s by default", async () => {
    vi.useFakeTimers();
    const { fetch, streams } = server("stream", "stream");
    saveToken("s3cret");
    const stop = subscribe(
      () => undefined,
      () => undefined,
    );
    await flush();
    streams[0].push("data: not json\n\nevent: forecast\ndata: {\n\n"); // skipped
    streams[0].end();
    await vi.advanceTimersByTimeAsync(RETRY_MS - 1);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch).toHaveBeenCalledTimes(2);
    stop();
  });

  it("is down on an HTTP error or no answer and reopens until it works; 401 asks again", async () => {
    vi.useFakeTimers();
    const { fetch } = server("refused", 502, 401, "stream");
    saveToken("wrong");
    const states: StreamState[] = [];
    const stop = subscribe(
      () => undefined,
      (s) => states.push(s),
    );
    await flush();
    expect(states).toEqual(["connecting", "down"]);
    await vi.advanceTimersByTimeAsync(REOPEN_MS);
    expect(states.slice(2)).toEqual(["connecting", "down"]);
    expect(authState().need).toBeNull();
    await vi.advanceTimersByTimeAsync(REOPEN_MS);
    expect(states.slice(4)).toEqual(["connecting", "down"]);
    expect(authState().need).toBe("refused");
    await vi.advanceTimersByTimeAsync(REOPEN_MS);
    expect(states.slice(6)).toEqual(["connecting", "open"]);
    expect(fetch).toHaveBeenCalledTimes(4);
    stop();
  });

  it("stops while connecting when unsubscribed", async () => {
    vi.useFakeTimers();
    const { fetch, signals } = server("refused");
    saveToken("s3cret");
    const states: StreamState[] = [];
    const stop = subscribe(
      () => undefined,
      (s) => states.push(s),
    );
    stop();
    await vi.advanceTimersByTimeAsync(10 * REOPEN_MS);
    expect(states).toEqual(["connecting"]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(signals[0].aborted).toBe(true);
  });
});
