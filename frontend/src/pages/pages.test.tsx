import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { driftEvent, forecast, outcome, stubApi } from "../test/fixtures";
import { Drift, driftBars } from "./Drift";
import { History, summarise, utcIso } from "./History";
import { Live } from "./Live";
import { Models } from "./Models";

vi.mock("../components/ForecastChart", async (original) => ({
  ...(await original<typeof import("../components/ForecastChart")>()),
  ForecastChart: ({ style }: { style: string }) => <div data-testid="chart">{style}</div>,
}));
vi.mock("../components/useChart", async (original) => ({
  ...(await original<typeof import("../components/useChart")>()),
  useChart: () => [{ current: null }, null], // no canvas in jsdom
}));

afterEach(() => vi.unstubAllGlobals());

describe("Live", () => {
  it("shows the served forecast's facts and the chart", () => {
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="open" />);
    expect(screen.getByTestId("price").textContent).toBe("100.00");
    expect(screen.getByTestId("p-up").textContent).toBe("55.0 %");
    expect(screen.getByTestId("model").textContent).toContain("linear");
    expect(screen.getByTestId("chart").textContent).toBe("line");
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("draws the ticks' own bars as candles where they have them", async () => {
    const bar = { seq: 0, price: 100, volume: 10, open: 99, high: 101, low: 98, close: 100 };
    stubApi({ "/symbols/AAPL/ticks": [200, [{ ...bar, ts: "2024-01-02T09:30:00Z" }]] });
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="open" />);
    fireEvent.click(screen.getByRole("button", { name: "candles" }));
    expect(screen.getByTestId("chart").textContent).toBe("candles");
    await waitFor(() =>
      expect(screen.getByTestId("candles-from").textContent).toBe(
        "each tick's own open, high, low and close",
      ),
    );
  });

  it("makes candles of runs of ticks where the ticks carry no bars", async () => {
    const plain = { seq: 0, price: 100, volume: null, open: null, high: null, low: null };
    stubApi({
      "/symbols/AAPL/ticks": [200, [{ ...plain, close: null, ts: "2024-01-02T09:30:00Z" }]],
    });
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="open" />);
    fireEvent.click(screen.getByRole("button", { name: "candles" }));
    await waitFor(() =>
      expect(screen.getByTestId("candles-from").textContent).toContain("of each 5 ticks"),
    );
  });

  it("says when the API is down", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Promise.reject(new TypeError("refused"))),
    );
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="down" />);
    expect(screen.getByRole("status").textContent).toBe(
      "the API is down: trying again every few seconds",
    );
  });

  it("does not blame the API when a proxy keeps its checks private", async () => {
    stubApi({ "/ready": [404, { detail: "Not Found" }] });
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="down" />);
    await waitFor(() =>
      expect(screen.getByRole("status").textContent).toBe(
        "the live stream is down: trying again every few seconds",
      ),
    );
  });

  it("names the store that is down when the API answers", async () => {
    const checks = { latest: "unreachable", clickhouse: "ok" };
    stubApi({ "/ready": [503, { status: "unavailable", checks }] });
    render(<Live symbol="AAPL" forecasts={[forecast()]} state="down" />);
    await waitFor(() =>
      expect(screen.getByRole("status").textContent).toContain(
        "(the API answers; unreachable: latest store)",
      ),
    );
  });
});

const quality = (selected: string) => {
  const score = { n: 250, mae: 0.01, hit_rate: 0.5, coverage: 0.9, interval_score: 0.0123 };
  return {
    symbol: "AAPL",
    selected,
    served_since: "2024-01-02T10:00:00Z",
    models: {
      random_walk: { ...score, based_on: "random_walk", mae_ratio: 1 },
      linear: { ...score, based_on: "linear", mae_ratio: 0.95 },
      served: { ...score, based_on: selected, mae_ratio: 0.95 },
    },
  };
};

describe("Models", () => {
  it("lists every model, marks the served one and names the registry's versions", async () => {
    const version = {
      ts: "2024-01-02T10:00:00Z",
      n_labels: 400,
      selected_model: "linear",
      runner_up_model: "mean",
      served_mae_ratio: 0.95,
      origin: "worker",
    };
    stubApi({
      "/symbols/AAPL/quality": [200, quality("linear")],
      "/symbols/AAPL/versions": [
        200,
        {
          symbol: "AAPL",
          champion: 2,
          challenger: 3,
          pinned: true,
          versions: [
            { ...version, version: 3, aliases: ["challenger"] },
            { ...version, version: 2, aliases: ["champion"] },
          ],
        },
      ],
    });
    render(<Models symbol="AAPL" />);
    await waitFor(() => expect(screen.getByText("linear (served)")).toBeTruthy());
    expect(screen.getAllByText("0.950")).toHaveLength(2 + 2); // two models, two versions
    expect(screen.getAllByText("0.01230")).toHaveLength(3);
    expect(screen.getByTestId("served").textContent).toBe(
      "served: linear since 2024-01-02 10:00:00 UTC",
    );
    await waitFor(() =>
      expect(screen.getByTestId("aliases").textContent).toBe(
        "champion: 2 (pinned by an operator) · challenger: 3",
      ),
    );
  });

  it("shows why quality is unavailable", async () => {
    stubApi({ "/symbols/AAPL/quality": [404, { detail: "no metrics yet for symbol 'AAPL'" }] });
    render(<Models symbol="AAPL" />);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("no metrics yet"));
  });

  it("keeps the scores when only the registry is down", async () => {
    stubApi({
      "/symbols/AAPL/quality": [200, quality("linear")],
      "/symbols/AAPL/versions": [503, { detail: "the model registry is unavailable: boom" }],
    });
    render(<Models symbol="AAPL" />);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("registry"));
    expect(screen.getByText("linear (served)")).toBeTruthy();
  });
});

describe("Drift", () => {
  it("lists events newest first with what was done", async () => {
    stubApi({
      "/symbols/AAPL/drift": [
        200,
        [
          driftEvent(),
          driftEvent({
            ts: "2024-01-02T09:31:00Z",
            kind: "concept",
            detector: "page_hinkley",
            model: "linear",
            feature: "abs_error",
            reaction: "reset",
          }),
        ],
      ],
    });
    render(<Drift symbol="AAPL" />);
    await waitFor(() => expect(screen.getAllByRole("row")).toHaveLength(3));
    const [, newest, oldest] = screen.getAllByRole("row");
    expect(newest.textContent).toContain("reset");
    expect(oldest.textContent).toContain("(data)");
  });

  it("says when nothing drifted", async () => {
    stubApi({ "/symbols/AAPL/drift": [200, []] });
    render(<Drift symbol="AAPL" />);
    await waitFor(() => expect(screen.getByTestId("no-drift")).toBeTruthy());
  });

  it("draws the strongest event of each second, how far past its threshold", () => {
    const bars = driftBars([
      driftEvent({ value: 0.3 }),
      driftEvent({ value: 0.8, kind: "concept" }),
      driftEvent({ ts: "2024-01-02T09:29:59Z", value: -0.5, threshold: 0.25 }),
    ]);
    expect(bars.map((b) => [b.value, b.color])).toEqual([
      [2, "#2a9d8f"],
      [4, "#e76f51"],
    ]);
  });
});

describe("History", () => {
  it("summarises the outcomes in view", () => {
    const rows = [
      outcome(),
      outcome({ inside: false, realised_return: -0.02, predicted_return: 0.0 }),
    ];
    const summary = summarise(rows);
    expect(summary.n).toBe(2);
    expect(summary.coverage).toBe(0.5);
    expect(summary.hitRate).toBe(0.5);
    expect(summary.mae).toBeCloseTo((0.001 + 0.02) / 2);
    expect(summarise([]).coverage).toBeNull();
  });

  it("asks for the chosen range in UTC", async () => {
    const fetch = stubApi({
      "/forecasts/AAPL/outcomes": [200, { symbol: "AAPL", outcomes: [outcome()], truncated: true }],
    });
    render(<History symbol="AAPL" />);
    await waitFor(() => expect(screen.getByTestId("summary").textContent).toContain("1 outcome"));
    expect(screen.getByTestId("summary").textContent).toContain("(the newest)");
    fireEvent.change(screen.getByLabelText("from"), { target: { value: "2024-01-02T09:00" } });
    fireEvent.click(screen.getByRole("button", { name: "show" }));
    await waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    expect(fetch.mock.calls[1][0]).toContain("start=2024-01-02T09%3A00%3A00Z");
    expect(utcIso("")).toBe("");
    expect(utcIso("2024-01-02T09:00:05")).toBe("2024-01-02T09:00:05Z");
  });
});
