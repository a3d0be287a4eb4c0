import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { App } from "./App";
import { authState, forgetToken, TOKEN_KEY } from "./auth";
import { authorizationOf, eventStream, forecast } from "./test/fixtures";

vi.mock("./components/ForecastChart", async (original) => ({
  ...(await original<typeof import("./components/ForecastChart")>()),
  ForecastChart: () => <div data-testid="chart" />,
}));

class NoSource {
  static CLOSED = 2;
  readyState = 0;
  onopen = null;
  onerror = null;
  addEventListener() {}
  close() {}
}

afterEach(() => {
  cleanup(); // before forgetting the token, which would reload the app
  forgetToken();
  vi.unstubAllGlobals();
});

/** An API that wants `token`: 401 without it, else the symbols and a stream with a forecast. */
function apiWanting(token: string) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    if (authorizationOf(init) !== `Bearer ${token}`) {
      const detail = "this API wants a bearer token: Authorization: Bearer <token>";
      return new Response(JSON.stringify({ detail }), { status: 401 });
    }
    if (url === "/stream") {
      const stream = eventStream(init?.signal);
      stream.push(`event: forecast\ndata: ${JSON.stringify(forecast())}\n\n`);
      return stream.response;
    }
    const body = url === "/symbols" ? ["AAPL"] : [];
    return new Response(JSON.stringify(body), { status: 200 });
  });
  vi.stubGlobal("fetch", fetch);
  vi.stubGlobal("EventSource", NoSource); // no stream without a token
  return fetch;
}

const save = (token: string) => {
  fireEvent.change(screen.getByLabelText("token"), { target: { value: token } });
  fireEvent.click(screen.getByRole("button", { name: "Save" }));
};

describe("the token form", () => {
  it("asks for the token on a 401 and, once saved, sends it and shows the page", async () => {
    const fetch = apiWanting("s3cret");
    render(<App />);
    await waitFor(() => expect(screen.getByText("This API wants a token")).toBeTruthy());
    expect(screen.queryByText("No forecast yet.")).toBeNull(); // in place of the page
    expect(screen.getByLabelText("token").getAttribute("type")).toBe("password");

    save("s3cret");
    await waitFor(() => expect(screen.getByTestId("price").textContent).toBe("100.00"));
    expect(screen.queryByText("This API wants a token")).toBeNull();
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe("s3cret");
    const symbolsAsked = fetch.mock.calls.filter(([url]) => url === "/symbols");
    expect(symbolsAsked.map(([, init]) => authorizationOf(init))).toEqual([null, "Bearer s3cret"]);
    expect(screen.getByRole("option", { name: "AAPL" })).toBeTruthy();
    expect(screen.queryByRole("status")).toBeNull(); // the stream is open
  });

  it("says when the token was refused, and forgets it on request", async () => {
    apiWanting("s3cret");
    render(<App />);
    await waitFor(() => expect(screen.getByLabelText("token")).toBeTruthy());
    save("wrong");
    await waitFor(() =>
      expect(screen.getByRole("status").textContent).toBe(
        "This API wants a token: the token was refused",
      ),
    );
    fireEvent.click(screen.getByRole("button", { name: "forget token" }));
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(screen.queryByRole("button", { name: "forget token" })).toBeNull();
    await waitFor(() => expect(authState().need).toBe("wanted"));
    expect(screen.getByRole("status").textContent).toBe("This API wants a token");
  });
});
