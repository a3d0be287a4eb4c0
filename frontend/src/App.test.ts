import { describe, expect, it } from "vitest";

import { appended, KEPT, merged, pageOf } from "./App";
import { aheadOf, candles, pricePoints, tickBars } from "./components/ForecastChart";
import { forecast } from "./test/fixtures";

const at = (second: number) =>
  forecast({ ts: new Date(Date.UTC(2024, 0, 2, 9, 30, second)).toISOString() });

describe("the forecasts kept per symbol", () => {
  it("keep event-time order, drop repeats and stay bounded", () => {
    let kept = [at(1), at(2)];
    kept = appended(kept, at(2)); // the stream resends the latest after reconnecting
    kept = appended(kept, at(1));
    expect(kept.map((f) => f.ts)).toEqual([at(1).ts, at(2).ts]);
    for (let i = 0; i < KEPT + 50; i++) kept = appended(kept, at(3 + i));
    expect(kept).toHaveLength(KEPT);
    expect(kept.at(-1)?.ts).toBe(at(3 + KEPT + 49).ts);
  });
});

describe("the history merged with what the stream brought", () => {
  it("fills the gap in event-time order, without repeats, bounded", () => {
    const kept = [at(1), at(5)];
    const history = [at(5), at(4), at(3), at(2)]; // newest first, as the API gives it
    expect(merged(kept, history).map((f) => f.ts)).toEqual([1, 2, 3, 4, 5].map((s) => at(s).ts));
    const long = Array.from({ length: KEPT + 10 }, (_, i) => at(i));
    expect(merged([], long)).toHaveLength(KEPT);
    expect(merged([], long).at(-1)?.ts).toBe(at(KEPT + 9).ts);
  });
});

describe("the chart's points", () => {
  it("put the forecast a horizon ahead at the ticks' own spacing", () => {
    const ticks = [at(0), at(5), { ...at(10), horizon: 3 }];
    expect(aheadOf(ticks)).toBe(pricePoints(ticks).at(-1)!.time + 15);
    expect(aheadOf([at(0)])).toBeNull();
  });

  it("have one point per second, in time order", () => {
    const points = pricePoints([at(2), at(1), { ...at(1), price: 101 }]);
    expect(points.map((p) => p.value)).toEqual([101, 100]);
  });
});

describe("the candles", () => {
  it("hold the open, high, low and close of each run of ticks", () => {
    const prices = [100, 103, 99, 101, 102, 104];
    const ticks = prices.map((price, i) => ({ ...at(i), price }));
    expect(candles(ticks, 5)).toEqual([
      { time: pricePoints(ticks)[0].time, open: 100, high: 103, low: 99, close: 102 },
      { time: pricePoints(ticks)[5].time, open: 104, high: 104, low: 104, close: 104 },
    ]);
  });
});

describe("the address", () => {
  it("names the page, the live one by default", () => {
    expect(pageOf("#models")).toBe("Models");
    expect(pageOf("#History")).toBe("History");
    expect(pageOf("")).toBe("Live");
    expect(pageOf("#nope")).toBe("Live");
  });
});

describe("the ticks' own bars", () => {
  const tick = (second: number, high: number | null) => ({
    ts: new Date(Date.UTC(2024, 0, 2, 9, 30, second)).toISOString(),
    seq: 0,
    price: 100,
    volume: null,
    open: 99,
    high,
    low: 98,
    close: null,
  });

  it("are used only when every tick has one, one per second, the last winning", () => {
    const bars = tickBars([tick(1, 102), tick(0, 101), tick(1, 103)]);
    expect(bars?.map((b) => [b.high, b.close])).toEqual([
      [101, 100],
      [103, 100],
    ]);
    expect(tickBars([tick(0, 101), tick(1, null)])).toBeNull();
    expect(tickBars([])).toBeNull();
  });
});
