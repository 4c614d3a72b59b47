import { describe, expect, it } from "vitest";
import { resetMarks, timeTicks } from "../../../../src/pages/limits/LimitHistoryChart.tsx";
import { chartPatch, filterRows, parseLimitsParams } from "../../../../src/pages/limits/limits-params.ts";
import { LIMIT_ROWS, NOW } from "../../../fixtures.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const point = (atMs: number, resetsAtMs: number | null) => ({
  at: iso(atMs),
  usedPercent: 10,
  resetsAt: resetsAtMs === null ? null : iso(resetsAtMs),
});

describe("resetMarks", () => {
  it("does mark where a window ended (its reset time moved on), and the next reset when in view", () => {
    const points = [
      point(NOW - 9 * HOUR, NOW - 6 * HOUR),
      point(NOW - 7 * HOUR, NOW - 6 * HOUR),
      point(NOW - 5 * HOUR, NOW - HOUR),
      // The same window reported with a reset 20 s later: not a reset.
      point(NOW - 4 * HOUR, NOW - HOUR + 20_000),
      point(NOW - 30 * MIN, NOW + 4 * HOUR),
    ];
    expect(resetMarks(points, [NOW - 10 * HOUR, NOW + 5 * HOUR], NOW + 4 * HOUR)).toEqual([
      NOW - 6 * HOUR,
      NOW - HOUR,
      NOW + 4 * HOUR,
    ]);
    // Out of view, and without reset times: nothing.
    expect(resetMarks(points, [NOW - 10 * HOUR, NOW], NOW + 4 * HOUR)).toEqual([NOW - 6 * HOUR, NOW - HOUR]);
    expect(resetMarks([point(NOW, null), point(NOW + MIN, null)], [0, NOW * 2], null)).toEqual([]);
  });
});

describe("timeTicks", () => {
  it("does put a day's ticks on round 4-hour marks and a week's on midnights", () => {
    const day = timeTicks([NOW - 24 * HOUR, NOW]);
    expect(day.length).toBeGreaterThanOrEqual(5);
    for (const at of day) {
      const d = new Date(at);
      expect([d.getMinutes(), d.getHours() % 4]).toEqual([0, 0]);
    }
    const week = timeTicks([NOW - 7 * 24 * HOUR, NOW]);
    expect(week.length).toBeGreaterThanOrEqual(6);
    for (const at of week) expect([new Date(at).getHours(), new Date(at).getMinutes()]).toEqual([0, 0]);
    expect(timeTicks([NOW - 400 * 24 * HOUR, NOW]).length).toBeLessThanOrEqual(12);
  });
});

describe("limits URL state", () => {
  it("does default the chart to the primary window over a day, and a weekly window over a week", () => {
    const params = (query: string) => parseLimitsParams(new URLSearchParams(query));
    expect(params("chart=alice").chart).toEqual({
      target: "alice",
      limitId: "codex",
      window: "primary",
      range: "24h",
    });
    expect(params("chart=alice&window=secondary").chart?.range).toBe("7d");
    expect(params("chart=alice&window=bogus&range=1y").chart).toMatchObject({
      window: "primary",
      range: "24h",
    });
    expect(params("team=payments&q=al")).toEqual({ team: "payments", q: "al", chart: null });
    expect(chartPatch({ target: "bob", limitId: "codex_other" }, "secondary")).toEqual({
      chart: "bob",
      limit: "codex_other",
      window: "secondary",
      range: null,
    });
  });

  it("does filter rows by team and by a case-blind search in name or team", () => {
    expect(filterRows(LIMIT_ROWS, { team: "payments", q: "" }).map((r) => r.target)).toEqual([
      "bob",
      "alice",
    ]);
    expect(filterRows(LIMIT_ROWS, { team: null, q: " PLAT " }).map((r) => r.target)).toEqual(["carol"]);
  });
});
