import { render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { forecast } from "../test/fixtures";
import { Live } from "./Live";
import { Models } from "./Models";

vi.mock("../components/ForecastChart", () => ({ ForecastChart: () => <div data-testid="chart" /> }));

afterEach(() => vi.unstubAllGlobals());

describe("Live", () => {
  it("shows the served forecast's facts and the chart", () => {
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="open" />);
    expect(screen.getByTestId("price").textContent).toBe("100.00");
    expect(screen.getByTestId("p-up").textContent).toBe("55.0 %");
    expect(screen.getByTestId("model").textContent).toContain("linear");
    expect(screen.getByTestId("chart")).toBeTruthy();
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("says when the API is down", () => {
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="down" />);
    expect(screen.getByRole("status").textContent).toBe("the API is down");
  });
});

describe("Models", () => {
  it("lists every model and marks the served one", async () => {
    const models = {
      random_walk: { based_on: "random_walk", n: 250, mae: 0.01, mae_ratio: 1, hit_rate: 0.5, coverage: 0.9 },
      linear: { based_on: "linear", n: 250, mae: 0.009, mae_ratio: 0.95, hit_rate: 0.56, coverage: 0.91 },
      served: { based_on: "linear", n: 250, mae: 0.009, mae_ratio: 0.95, hit_rate: 0.56, coverage: 0.91 },
    };
    const body = { symbol: "AAPL", selected: "linear", models };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body))));
    render(<Models symbol="AAPL" />);
    await waitFor(() => expect(screen.getAllByRole("row")).toHaveLength(4));
    expect(screen.getByText("linear (served)")).toBeTruthy();
    expect(screen.getAllByText("0.950")).toHaveLength(2);
  });

  it("shows why quality is unavailable", async () => {
    const body = { detail: "no metrics yet for symbol 'AAPL'" };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(body), { status: 404 })));
    render(<Models symbol="AAPL" />);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("no metrics yet"));
  });
});
