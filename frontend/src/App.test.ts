import { describe, expect, it } from "vitest";

import { appended, KEPT } from "./App";
import { aheadOf, pricePoints } from "./components/ForecastChart";
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
