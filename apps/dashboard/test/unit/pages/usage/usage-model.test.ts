import { describe, expect, it } from "vitest";
import {
  bucketStarts,
  parseUsageParams,
  usageUrl,
  usageWindow,
} from "../../../../src/pages/usage/usage-params.ts";
import { OTHER_KEY, pricing, stackSeries } from "../../../../src/pages/usage/usage-series.ts";
import { USAGE_BY_DAY_MODEL, usageRow } from "../../../fixtures.ts";

const NOW = Date.parse("2026-11-21T14:30:00Z");

describe("parseUsageParams", () => {
  it.each([
    ["", { range: "7d", stack: "model", metric: "tokens", chart: "area" }],
    [
      "?range=24h&stack=team&metric=cost&chart=bar",
      { range: "24h", stack: "team", metric: "cost", chart: "bar" },
    ],
    [
      "?range=custom&from=2026-11-01&to=2026-11-07",
      { range: "custom", fromDay: "2026-11-01", toDay: "2026-11-07" },
    ],
    ["?range=custom&from=2026-11-07&to=2026-11-01", { range: "7d", fromDay: null }],
    ["?range=forever&stack=planet", { range: "7d", stack: "model" }],
    [
      "?range=custom&from=2026-11-01T06:00:00Z&to=2026-11-01T18:00:00Z",
      { range: "custom", fromDay: "2026-11-01T06:00:00Z" },
    ],
    ["?range=custom&from=yesterday&to=2026-11-02", { range: "7d", fromDay: null }],
  ])("does decode %s", (search, expected) => {
    expect(parseUsageParams(new URLSearchParams(search))).toMatchObject(expected);
  });
});

describe("usageWindow", () => {
  it.each([
    ["?range=24h", "2026-11-20T15:00:00.000Z", "2026-11-21T14:30:00.000Z", "hour", 24],
    ["?range=7d", "2026-11-15T00:00:00.000Z", "2026-11-21T14:30:00.000Z", "day", 7],
    ["?range=30d", "2026-10-23T00:00:00.000Z", "2026-11-21T14:30:00.000Z", "day", 30],
    [
      "?range=custom&from=2026-11-01&to=2026-11-02",
      "2026-11-01T00:00:00.000Z",
      "2026-11-03T00:00:00.000Z",
      "hour",
      48,
    ],
    [
      "?range=custom&from=2026-11-01&to=2026-11-07",
      "2026-11-01T00:00:00.000Z",
      "2026-11-08T00:00:00.000Z",
      "day",
      7,
    ],
  ])("does turn %s into [%s, %s) by %s with %i buckets", (search, from, to, bucket, count) => {
    const view = usageWindow(parseUsageParams(new URLSearchParams(search)), NOW);
    expect(new Date(view.fromMs).toISOString()).toBe(from);
    expect(new Date(view.toMs).toISOString()).toBe(to);
    expect(view.bucket).toBe(bucket);
    expect(bucketStarts(view)).toHaveLength(count);
  });

  it("does put filters and groupBy into the API URL when they are set", () => {
    const params = parseUsageParams(new URLSearchParams("?range=7d&team=payments&model=gpt-5.5"));
    const url = new URL(usageUrl(usageWindow(params, NOW), ["day", "model"], params.filters), "http://x");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      from: "2026-11-15T00:00:00.000Z",
      to: "2026-11-21T14:30:00.000Z",
      groupBy: "day,model",
      team: "payments",
      model: "gpt-5.5",
    });
  });
});

describe("stackSeries", () => {
  const view = usageWindow(parseUsageParams(new URLSearchParams("?range=7d")), NOW);

  it("does zero-fill every bucket and rank series by total when rows are sparse", () => {
    const series = stackSeries(USAGE_BY_DAY_MODEL, {
      bucket: "day",
      stack: "model",
      metric: "tokens",
      bucketStarts: bucketStarts(view),
    });
    expect(series.keys).toEqual(["gpt-5.5", "gpt-5.5-mini", "mock-model"]);
    expect(series.points).toHaveLength(7);
    expect(series.points[0]?.["mock-model"]).toBe(0);
    expect(series.points[6]?.["gpt-5.5"]).toBe(2_400_000 + 6 * 310_000);
    expect(series.points[6]?.unpricedTokens).toBe(180_000);
  });

  it("does rank by cost (unpriced last) when the metric is cost", () => {
    const series = stackSeries(USAGE_BY_DAY_MODEL, {
      bucket: "day",
      stack: "model",
      metric: "cost",
      bucketStarts: [],
    });
    expect(series.keys.at(-1)).toBe("mock-model");
  });

  it("does fold everything past the top 7 into Other when there are more than 8 keys", () => {
    const rows = Array.from({ length: 10 }, (_, index) =>
      usageRow({ day: "2026-11-21T00:00:00.000Z", repo: `repo-${index}` }, 1, (index + 1) * 1000),
    );
    const series = stackSeries(rows, { bucket: "day", stack: "repo", metric: "tokens", bucketStarts: [] });
    expect(series.keys).toHaveLength(8);
    expect(series.keys.at(-1)).toBe(OTHER_KEY);
    expect(series.points[0]?.[OTHER_KEY]).toBe(1000 + 2000 + 3000);
  });

  it("does draw the API's folded rows (`other`) as Other, and folds them with its own past the top 7", () => {
    const day = "2026-11-21T00:00:00.000Z";
    // The API kept 8 series (top=8) and folded the rest: 8 named + Other would be 9 colours.
    const rows = [
      ...Array.from({ length: 8 }, (_, i) => usageRow({ day, target: `dev-${i}` }, 1, (i + 1) * 1000)),
      { ...usageRow({ day }, 5, 500), other: true },
    ];
    const series = stackSeries(rows, { bucket: "day", stack: "target", metric: "tokens", bucketStarts: [] });
    expect(series.keys).toEqual(["dev-7", "dev-6", "dev-5", "dev-4", "dev-3", "dev-2", "dev-1", OTHER_KEY]);
    expect(series.points[0]?.[OTHER_KEY]).toBe(1000 + 500);
    // Fewer named series: they all keep their colour, the folded rest is Other (never "(none)").
    const few = stackSeries([rows[0] as (typeof rows)[number], rows[8] as (typeof rows)[number]], {
      bucket: "day",
      stack: "target",
      metric: "tokens",
      bucketStarts: [],
    });
    expect(few.keys).toEqual(["dev-0", OTHER_KEY]);
    expect(few.points[0]).toMatchObject({ "dev-0": 1000, [OTHER_KEY]: 500 });
  });

  it.each([
    [{ totalTokens: 10, unpricedTokens: 0 }, "priced"],
    [{ totalTokens: 10, unpricedTokens: 4 }, "partial"],
    [{ totalTokens: 10, unpricedTokens: 10 }, "unpriced"],
  ])("does classify %o as %s", (counters, expected) => {
    expect(pricing(counters)).toBe(expected);
  });
});
