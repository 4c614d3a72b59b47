import type { UsageCounters, UsageGroupKey, UsageRow } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { queryUsage, type UsageFilters } from "../src/queries/usage.ts";
import { foldUsage } from "../src/repositories/usage-fold.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const H = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const HOUR_MS = 3_600_000;

interface Fixture {
  hourMs: number;
  target: string;
  team: string;
  model: string;
  repo: string;
}

// Two days around midnight, three targets in two teams, a priced and an unpriced model, an unknown repo ('').
const FIXTURE: Fixture[] = [
  { hourMs: H(20, 22), target: "alice", team: "payments", model: "gpt-5.4", repo: "github.com/acme/api" },
  { hourMs: H(20, 23), target: "bob", team: "payments", model: "gpt-5.4", repo: "github.com/acme/web" },
  { hourMs: H(21, 0), target: "alice", team: "payments", model: "mystery", repo: "github.com/acme/api" },
  { hourMs: H(21, 0), target: "carol", team: "search", model: "gpt-5.4", repo: "github.com/acme/search" },
  { hourMs: H(21, 10), target: "alice", team: "payments", model: "gpt-5.5", repo: "" },
  { hourMs: H(21, 10), target: "carol", team: "search", model: "gpt-5.5", repo: "github.com/acme/search" },
  { hourMs: H(21, 11), target: "bob", team: "payments", model: "gpt-5.4", repo: "github.com/acme/web" },
  { hourMs: H(22, 0), target: "carol", team: "search", model: "gpt-5.4", repo: "github.com/acme/search" },
];

/** Distinct counters per fixture row, so every sum identifies the rows in it. */
function countersOf(i: number, f: Fixture): UsageCounters {
  const k = i + 1;
  const unpriced = f.model === "mystery";
  return {
    turns: k,
    failedTurns: k % 2,
    inputTokens: 100 * k,
    cachedInputTokens: 10 * k,
    outputTokens: 7 * k,
    reasoningOutputTokens: 3 * k,
    totalTokens: 107 * k,
    costUsd: unpriced ? 0 : 0.25 * k,
    unpricedTokens: unpriced ? 107 * k : 0,
  };
}

const COUNTERS = Object.keys(countersOf(0, FIXTURE[0] as Fixture)) as (keyof UsageCounters)[];
const zero = (): UsageCounters => Object.fromEntries(COUNTERS.map((c) => [c, 0])) as unknown as UsageCounters;
function add(into: UsageCounters, c: UsageCounters): void {
  for (const k of COUNTERS) into[k] += c[k];
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const KEY: Record<UsageGroupKey, (f: Fixture) => string> = {
  day: (f) => `${iso(f.hourMs).slice(0, 10)}T00:00:00Z`,
  hour: (f) => iso(f.hourMs),
  target: (f) => f.target,
  team: (f) => f.team,
  model: (f) => f.model,
  repo: (f) => f.repo,
  rootThread: () => {
    throw new Error("the rollup fixture has no threads: rootThread is tested in thread-tree.test.ts");
  },
};

/** The oracle: the same aggregate computed over the fixture in JS. */
function expected(fromMs: number, toMs: number, groupBy: UsageGroupKey[], filters: UsageFilters) {
  const fromHour = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
  const groups = new Map<string, UsageRow>();
  const totals = zero();
  FIXTURE.forEach((f, i) => {
    if (f.hourMs < fromHour || f.hourMs >= toMs) return;
    const fields = { team: f.team, target: f.target, model: f.model, repo: f.repo };
    for (const [key, values] of Object.entries(filters) as [keyof UsageFilters, string[] | undefined][]) {
      if (values && values.length > 0 && !values.includes(fields[key])) return;
    }
    const c = countersOf(i, f);
    add(totals, c);
    if (groupBy.length === 0) return;
    const id = groupBy.map((k) => KEY[k](f)).join("\u0000");
    const row = groups.get(id) ?? { ...Object.fromEntries(groupBy.map((k) => [k, KEY[k](f)])), ...zero() };
    add(row, c);
    groups.set(id, row);
  });
  return { rows: [...groups.values()], totals };
}

const sortRows = (rows: UsageRow[], groupBy: UsageGroupKey[]) =>
  [...rows].sort((a, b) => {
    const ka = groupBy.map((k) => a[k]).join("\u0000");
    const kb = groupBy.map((k) => b[k]).join("\u0000");
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  for (const [i, f] of FIXTURE.entries()) {
    const c = countersOf(i, f);
    await db.pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, failed_turns, input_tokens,
         cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens)
       VALUES (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [f.hourMs, f.target, f.team, f.model, f.repo, ...COUNTERS.map((k) => c[k])],
    );
  }
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const ALL = { fromMs: H(20, 0), toMs: H(23, 0) };

describe("queryUsage", () => {
  it.each<{ name: string; fromMs?: number; toMs?: number; groupBy: UsageGroupKey[]; filters?: UsageFilters }>(
    [
      { name: "only totals when groupBy is empty", groupBy: [] },
      { name: "one row per UTC day when grouped by day", groupBy: ["day"] },
      { name: "one row per hour when grouped by hour", groupBy: ["hour"] },
      { name: "one row per target when grouped by target", groupBy: ["target"] },
      { name: "one row per team when grouped by team", groupBy: ["team"] },
      { name: "one row per model when grouped by model", groupBy: ["model"] },
      { name: "an '' row for the unknown repo when grouped by repo", groupBy: ["repo"] },
      { name: "day × team rows when grouped by day,team", groupBy: ["day", "team"] },
      { name: "team × model rows when grouped by team,model", groupBy: ["team", "model"] },
      { name: "hour × target × model rows when grouped by three keys", groupBy: ["hour", "target", "model"] },
      { name: "repo × day rows when the time key comes last", groupBy: ["repo", "day"] },
      {
        name: "only that team's rows when filtered by team",
        groupBy: ["target"],
        filters: { team: ["payments"] },
      },
      {
        name: "either target's rows when filtered by two targets",
        groupBy: ["day"],
        filters: { target: ["alice", "carol"] },
      },
      {
        name: "the intersection when filtered by model and repo",
        groupBy: ["target"],
        filters: { model: ["gpt-5.4"], repo: ["github.com/acme/search", "github.com/acme/web"] },
      },
      {
        name: "zero totals and no rows when a filter matches nothing",
        groupBy: ["team"],
        filters: { team: ["nobody"] },
      },
      { name: "the filter ignored when its list is empty", groupBy: ["team"], filters: { team: [] } },
      {
        name: "the hour starting at `from` when from is on the hour",
        fromMs: H(21, 0),
        toMs: H(21, 10),
        groupBy: ["hour"],
      },
      {
        name: "no hour starting at `to` when to is on the hour",
        fromMs: H(20, 0),
        toMs: H(21, 0),
        groupBy: ["hour"],
      },
      {
        name: "the hour containing `from` when from is mid-hour",
        fromMs: H(20, 22, 30),
        toMs: H(21, 0),
        groupBy: ["hour"],
      },
      {
        name: "the hour containing `to` when to is mid-hour",
        fromMs: H(21, 1),
        toMs: H(21, 10, 30),
        groupBy: ["hour"],
      },
      {
        name: "nothing when from equals to on the hour",
        fromMs: H(21, 0),
        toMs: H(21, 0),
        groupBy: ["hour"],
      },
    ],
  )("returns $name", async ({ fromMs = ALL.fromMs, toMs = ALL.toMs, groupBy, filters = {} }) => {
    const got = await queryUsage({ pool: db.pool, fromMs, toMs, groupBy, filters });
    const want = expected(fromMs, toMs, groupBy, filters);
    expect(got.totals).toEqual(want.totals);
    expect(sortRows(got.rows, groupBy)).toEqual(sortRows(want.rows, groupBy));
    // totals = the sum of the rows
    const summed = zero();
    for (const r of got.rows) add(summed, r);
    if (groupBy.length > 0) expect(summed).toEqual(got.totals);
  });

  it("matches hand-computed figures for the payments team", async () => {
    // Payments rows are fixture rows 1, 2, 3, 5, 7 (k = i + 1); row 3 is the unpriced model.
    const { rows, totals } = await queryUsage({
      ...ALL,
      pool: db.pool,
      groupBy: ["model"],
      filters: { team: ["payments"] },
    });
    expect(totals.turns).toBe(1 + 2 + 3 + 5 + 7);
    expect(totals.failedTurns).toBe(4); // odd k: 1, 3, 5, 7
    expect(totals.totalTokens).toBe(107 * 18);
    expect(totals.costUsd).toBe(0.25 * (1 + 2 + 5 + 7));
    expect(totals.unpricedTokens).toBe(107 * 3);
    expect(rows.find((r) => r.model === "mystery")).toMatchObject({
      costUsd: 0,
      unpricedTokens: 321,
      turns: 3,
    });
  });

  it.each<{ groupBy: UsageGroupKey[]; key: UsageGroupKey }>([
    { groupBy: ["hour"], key: "hour" },
    { groupBy: ["day", "team"], key: "day" },
  ])("orders $key ascending when grouped by $groupBy", async ({ groupBy, key }) => {
    const { rows } = await queryUsage({ ...ALL, pool: db.pool, groupBy, filters: {} });
    const keys = rows.map((r) => r[key] as string);
    expect(keys).toEqual([...keys].sort());
    expect(keys.length).toBeGreaterThan(1);
  });

  it("returns at most `limit` rows while the totals still cover the whole range", async () => {
    const { rows, totals } = await queryUsage({
      ...ALL,
      pool: db.pool,
      groupBy: ["hour"],
      filters: {},
      limit: 2,
    });
    expect(rows.map((r) => r.hour)).toEqual(["2026-11-20T22:00:00Z", "2026-11-20T23:00:00Z"]);
    expect(totals).toEqual(expected(ALL.fromMs, ALL.toMs, [], {}).totals);
  });

  it.each<{ sort: "cost" | "tokens"; field: "costUsd" | "totalTokens" }>([
    { sort: "cost", field: "costUsd" },
    { sort: "tokens", field: "totalTokens" },
  ])(
    "keeps the rows of most $sort first under a limit, and says there were more",
    async ({ sort, field }) => {
      const groupBy: UsageGroupKey[] = ["model", "team"];
      const want = expected(ALL.fromMs, ALL.toMs, groupBy, {});
      // Most first, ties by the keys (as the statement orders them).
      const ranked = [...want.rows].sort(
        (a, b) => b[field] - a[field] || `${a.model}/${a.team}`.localeCompare(`${b.model}/${b.team}`),
      );
      expect(ranked.length).toBeGreaterThan(2);
      const top = await queryUsage({ ...ALL, pool: db.pool, groupBy, filters: {}, sort, limit: 2 });
      expect(top.rows).toEqual(ranked.slice(0, 2));
      expect(top.truncated).toBe(true);
      expect(top.totals).toEqual(want.totals);
      const all = await queryUsage({
        ...ALL,
        pool: db.pool,
        groupBy,
        filters: {},
        sort,
        limit: ranked.length,
      });
      expect(all.rows).toEqual(ranked);
      expect(all.truncated).toBe(false);
    },
  );
});

describe("queryUsage top (series ranked over the window, the rest summed per bucket)", () => {
  const isTime = (k: UsageGroupKey) => k === "day" || k === "hour";
  /** The oracle: rank the series by their window total (ties by key), fold the rest per bucket. */
  function expectedTop(
    groupBy: UsageGroupKey[],
    field: "costUsd" | "totalTokens",
    top: number,
    window = ALL,
    filters: UsageFilters = {},
  ): UsageRow[] {
    const rows = expected(window.fromMs, window.toMs, groupBy, filters).rows;
    const time = groupBy.filter(isTime);
    const series = groupBy.filter((k) => !isTime(k));
    const seriesId = (r: UsageRow) => series.map((k) => r[k]).join("\u0000");
    const timeId = (r: UsageRow) => time.map((k) => r[k]).join("\u0000");
    const totals = new Map<string, number>();
    for (const r of rows) totals.set(seriesId(r), (totals.get(seriesId(r)) ?? 0) + r[field]);
    const rank = new Map(
      [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id], i) => [id, i] as const),
    );
    const named = rows.filter((r) => (rank.get(seriesId(r)) ?? 0) < top);
    const others = new Map<string, UsageRow>();
    for (const r of rows.filter((r) => (rank.get(seriesId(r)) ?? 0) >= top)) {
      const o = others.get(timeId(r)) ?? {
        ...Object.fromEntries(time.map((k) => [k, r[k]])),
        ...zero(),
        other: true,
      };
      add(o, r);
      others.set(timeId(r), o);
    }
    const order = (r: UsageRow) => (r.other ? top : (rank.get(seriesId(r)) ?? 0));
    return [...named, ...others.values()].sort((a, b) =>
      timeId(a) < timeId(b) ? -1 : timeId(a) > timeId(b) ? 1 : order(a) - order(b),
    );
  }

  const CASES: { groupBy: UsageGroupKey[]; sort: "cost" | "tokens"; top: number }[] = [
    // alice 1.5, bob 2.25, carol 4.5 in cost: alice is folded, per day.
    { groupBy: ["day", "target"], sort: "cost", top: 2 },
    // tokens: carol 18 × 107, alice and bob tie at 9 × 107 (alice first by key): both folded.
    { groupBy: ["day", "target"], sort: "tokens", top: 1 },
    { groupBy: ["day", "target"], sort: "tokens", top: 2 },
    { groupBy: ["hour", "team"], sort: "cost", top: 1 },
    { groupBy: ["target", "day", "model"], sort: "cost", top: 3 },
    // No time key: the top groups, then one row for the rest (one pass; ranked).
    { groupBy: ["model"], sort: "tokens", top: 1 },
    { groupBy: ["target"], sort: "cost", top: 1 },
  ];
  // The same answers whether the rows are still pending or folded into the coarser grains (the
  // ranked path reads the span and per-team grains), over whole days, a partial first and last
  // day, and with a filter.
  const WINDOWS = [
    { name: "whole days", window: ALL, filters: {} },
    { name: "partial days", window: { fromMs: H(20, 23), toMs: H(22, 1) }, filters: {} },
    { name: "one team", window: ALL, filters: { team: ["payments"] } },
  ];
  for (const folded of [false, true])
    describe(folded ? "folded" : "pending", () => {
      beforeAll(async () => {
        if (folded) expect(await foldUsage(db.pool)).toBeGreaterThan(0);
      });
      it.each(CASES.flatMap((c) => WINDOWS.map((w) => ({ ...c, ...w }))))(
        "groupBy $groupBy, top $top by $sort, $name",
        async ({ groupBy, sort, top, window, filters }) => {
          const field = sort === "cost" ? "costUsd" : "totalTokens";
          const want = expectedTop(groupBy, field, top, window, filters);
          const got = await queryUsage({ ...window, pool: db.pool, groupBy, filters, sort, top });
          expect(got.rows).toEqual(want);
          expect(got.totals).toEqual(expected(window.fromMs, window.toMs, [], filters).totals);
          expect(got.truncated).toBe(false);
        },
      );
      it("folds something in every whole-day case", () => {
        for (const c of CASES)
          expect(
            expectedTop(c.groupBy, c.sort === "cost" ? "costUsd" : "totalTokens", c.top).some((r) => r.other),
          ).toBe(true);
      });
    });

  it("folds nothing when the series fit", async () => {
    const groupBy: UsageGroupKey[] = ["day", "team"];
    const got = await queryUsage({ ...ALL, pool: db.pool, groupBy, filters: {}, sort: "cost", top: 2 });
    expect(got.rows).toEqual(expectedTop(groupBy, "costUsd", 2));
    expect(got.rows.some((r) => r.other)).toBe(false);
  });
});
