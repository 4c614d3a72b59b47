/**
 * queryActivity over rollup rows seeded with SQL (the write path is tested on its own): sums, the
 * daily/hourly split, filters, percentiles, the average and the peak's availability rules, each
 * against an oracle computed over the fixture in JS.
 */
import {
  type ActivityCounters,
  type ActivityGroupKey,
  type ActivityRow,
  ANSWER_BOUNDS_MS,
  histogramQuantile,
  TURN_DURATION_BOUNDS_MS,
} from "@codex-fleet/protocol/activity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { type ActivityFilters, queryActivity } from "../src/queries/activity.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const H = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Long after the fixture: no window is clipped by "now" unless a test says so. */
const NOW = H(30, 0);

interface Fixture {
  hourMs: number;
  target: string;
  team: string;
  model: string;
  repo: string;
}

// Three days around two midnights, three targets in two teams, an unknown repo ('').
const FIXTURE: Fixture[] = [
  { hourMs: H(20, 22), target: "alice", team: "payments", model: "gpt-5.4", repo: "github.com/acme/api" },
  { hourMs: H(20, 23), target: "bob", team: "payments", model: "gpt-5.4", repo: "github.com/acme/web" },
  { hourMs: H(21, 0), target: "alice", team: "payments", model: "gpt-5.5", repo: "github.com/acme/api" },
  { hourMs: H(21, 0), target: "carol", team: "search", model: "gpt-5.4", repo: "github.com/acme/search" },
  { hourMs: H(21, 10), target: "alice", team: "payments", model: "gpt-5.5", repo: "" },
  { hourMs: H(21, 10), target: "carol", team: "search", model: "gpt-5.5", repo: "github.com/acme/search" },
  { hourMs: H(21, 11), target: "bob", team: "payments", model: "gpt-5.4", repo: "github.com/acme/web" },
  { hourMs: H(22, 0), target: "carol", team: "search", model: "gpt-5.4", repo: "github.com/acme/search" },
  { hourMs: H(22, 5), target: "alice", team: "payments", model: "gpt-5.4", repo: "github.com/acme/api" },
];

/** The rollup columns a fixture row holds: distinct per row, so every sum identifies its rows. */
function columnsOf(i: number): Record<string, number> {
  const k = i + 1;
  const c: Record<string, number> = {
    working_ms: 600_000 * k,
    approval_wait_ms: 60_000 * k,
    input_wait_ms: 6_000 * k,
    system_error_ms: 7 * k,
    approval_waits: k,
    input_waits: 2 * k,
    answered_waits: k + 1,
    turns_started: 3 * k,
    turns_completed: 2 * k,
    turns_failed: k % 2,
    turns_interrupted: k % 3 === 0 ? 1 : 0,
  };
  for (let b = 0; b < 10; b++) {
    // Histograms whose shape differs per row, so the summed quantiles move with the rows in them.
    c[`dur_h${b}`] = b === k % 10 ? 4 * k : b === (k + 4) % 10 ? 1 : 0;
    c[`ans_h${b}`] = b === (k * 3) % 10 ? k : b === 9 - (k % 4) ? 2 : 0;
  }
  return c;
}

const SUMMED: [string, keyof ActivityCounters][] = [
  ["turns_started", "turnsStarted"],
  ["turns_completed", "turnsCompleted"],
  ["turns_failed", "turnsFailed"],
  ["turns_interrupted", "turnsInterrupted"],
  ["working_ms", "workingMs"],
  ["approval_wait_ms", "waitingOnApprovalMs"],
  ["input_wait_ms", "waitingOnInputMs"],
  ["system_error_ms", "systemErrorMs"],
  ["approval_waits", "approvalWaits"],
  ["input_waits", "inputWaits"],
  ["answered_waits", "answeredWaits"],
];

/** [hour, scope, key, peak]: samples for the fleet and every dimension at some fixture hours. */
const PEAKS: [number, string, string, number][] = [
  [H(20, 22), "fleet", "", 4],
  [H(20, 22), "team", "payments", 3],
  [H(20, 22), "target", "alice", 2],
  [H(20, 22), "model", "gpt-5.4", 3],
  [H(20, 22), "repo", "github.com/acme/api", 2],
  [H(21, 0), "fleet", "", 9],
  [H(21, 0), "team", "payments", 5],
  [H(21, 0), "team", "search", 4],
  [H(21, 0), "target", "alice", 5],
  [H(21, 0), "target", "carol", 4],
  [H(21, 0), "model", "gpt-5.5", 5],
  [H(21, 0), "repo", "github.com/acme/search", 4],
  [H(21, 10), "fleet", "", 6],
  [H(21, 10), "team", "search", 6],
  [H(21, 10), "target", "carol", 6],
  [H(21, 10), "model", "gpt-5.5", 6],
  [H(22, 0), "fleet", "", 7],
  [H(22, 0), "team", "search", 7],
  [H(22, 0), "target", "carol", 7],
  [H(22, 5), "team", "payments", 8],
  [H(22, 5), "target", "alice", 8],
  // Outside every window the tests ask for: must never show.
  [H(19, 0), "fleet", "", 99],
  [H(19, 0), "team", "payments", 99],
  [H(23, 0), "target", "carol", 99],
];

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const KEY: Record<ActivityGroupKey, (f: Fixture) => string> = {
  day: (f) => `${iso(f.hourMs).slice(0, 10)}T00:00:00Z`,
  hour: (f) => iso(f.hourMs),
  target: (f) => f.target,
  team: (f) => f.team,
  model: (f) => f.model,
  repo: (f) => f.repo,
};
const DIMS = ["team", "target", "model", "repo"] as const;

/** The peak oracle: max over the hours of [startMs, endMs) of one scope's samples with a key in `keys`. */
function peakOf(startMs: number, endMs: number, scope: string, keys: (k: string) => boolean): number {
  let max = 0;
  for (const [h, s, k, p] of PEAKS)
    if (s === scope && keys(k) && h >= startMs && h < endMs) max = Math.max(max, p);
  return max;
}

/** The oracle: the same aggregate computed over the fixture in JS. */
function expected(
  fromMs: number,
  toMs: number,
  groupBy: ActivityGroupKey[],
  filters: ActivityFilters,
  nowMs: number,
): { rows: ActivityRow[]; totals: ActivityCounters } {
  const fromHour = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
  const endMs = Math.min(Math.ceil(toMs / HOUR_MS) * HOUR_MS, nowMs);
  const groups = new Map<string, { keys: Record<string, string>; cols: Record<string, number> }>();
  const total: Record<string, number> = {};
  const add = (into: Record<string, number>, c: Record<string, number>) => {
    for (const [k, v] of Object.entries(c)) into[k] = (into[k] ?? 0) + v;
  };
  FIXTURE.forEach((f, i) => {
    if (f.hourMs < fromHour || f.hourMs >= toMs) return;
    for (const d of DIMS) {
      const values = filters[d];
      if (values && values.length > 0 && !values.includes(f[d])) return;
    }
    add(total, columnsOf(i));
    if (groupBy.length === 0) return;
    const id = groupBy.map((k) => KEY[k](f)).join("\u0000");
    const g = groups.get(id) ?? { keys: Object.fromEntries(groupBy.map((k) => [k, KEY[k](f)])), cols: {} };
    add(g.cols, columnsOf(i));
    groups.set(id, g);
  });
  const filtered = DIMS.filter((d) => (filters[d]?.length ?? 0) > 0);
  const grouped = DIMS.filter((d) => groupBy.includes(d));
  const timeKey = groupBy.find((k) => k === "day" || k === "hour");
  const counters = (cols: Record<string, number>, startMs: number, stopMs: number, peak: number | null) => {
    const out = Object.fromEntries(SUMMED.map(([c, k]) => [k, cols[c] ?? 0])) as unknown as ActivityCounters;
    const dur = Array.from({ length: 10 }, (_, b) => cols[`dur_h${b}`] ?? 0);
    const ans = Array.from({ length: 10 }, (_, b) => cols[`ans_h${b}`] ?? 0);
    out.turnDurationP50Ms = histogramQuantile(TURN_DURATION_BOUNDS_MS, dur, 0.5);
    out.turnDurationP90Ms = histogramQuantile(TURN_DURATION_BOUNDS_MS, dur, 0.9);
    out.timeToAnswerP50Ms = histogramQuantile(ANSWER_BOUNDS_MS, ans, 0.5);
    out.timeToAnswerP90Ms = histogramQuantile(ANSWER_BOUNDS_MS, ans, 0.9);
    const lengthMs = Math.max(0, Math.min(stopMs, endMs) - Math.max(startMs, fromHour));
    const active = out.workingMs + out.waitingOnApprovalMs + out.waitingOnInputMs;
    out.activeThreadsAvg = lengthMs > 0 ? active / lengthMs : 0;
    out.activeThreadsPeak = peak;
    return out;
  };
  // Totals: every group, so only the filters decide which samples apply.
  const oneFilter = filtered.length === 1 ? filtered[0] : undefined;
  const totalPeak =
    filtered.length === 0
      ? peakOf(fromHour, toMs, "fleet", () => true)
      : oneFilter && filters[oneFilter]?.length === 1
        ? peakOf(fromHour, toMs, oneFilter, (k) => k === filters[oneFilter]?.[0])
        : null;
  const rows = [...groups.values()].map(({ keys, cols }) => {
    const start = timeKey ? Date.parse(keys[timeKey] as string) : fromHour;
    const stop = timeKey ? start + (timeKey === "day" ? DAY_MS : HOUR_MS) : endMs;
    let peak: number | null = null;
    const dim = grouped[0];
    if (grouped.length === 1 && dim && filtered.every((d) => d === dim)) {
      peak = peakOf(Math.max(start, fromHour), Math.min(stop, toMs), dim, (k) => k === keys[dim]);
    } else if (grouped.length === 0) {
      peak =
        totalPeak === null
          ? null
          : oneFilter
            ? peakOf(
                Math.max(start, fromHour),
                Math.min(stop, toMs),
                oneFilter,
                (k) => k === filters[oneFilter]?.[0],
              )
            : peakOf(Math.max(start, fromHour), Math.min(stop, toMs), "fleet", () => true);
    }
    return { ...keys, ...counters(cols, start, stop, peak) } as ActivityRow;
  });
  return { rows, totals: counters(total, fromHour, endMs, totalPeak) };
}

const sortRows = (rows: ActivityRow[], groupBy: ActivityGroupKey[]) =>
  [...rows].sort((a, b) => {
    const ka = groupBy.map((k) => a[k]).join("\u0000");
    const kb = groupBy.map((k) => b[k]).join("\u0000");
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  for (const [i, f] of FIXTURE.entries()) {
    const c = columnsOf(i);
    const cols = Object.keys(c);
    // Inserted into the hourly rollup only: the daily one is its triggers' (migration 20261206120000).
    await db.pool.query(
      `INSERT INTO activity_hourly (hour, target_id, team, model, repo, ${cols.join(", ")})
       VALUES (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', $2, $3, $4, $5, ${cols.map((_, j) => `$${j + 6}`).join(", ")})`,
      [f.hourMs, f.target, f.team, f.model, f.repo, ...cols.map((k) => c[k])],
    );
  }
  for (const [hourMs, scope, key, peak] of PEAKS) {
    await db.pool.query(
      `INSERT INTO activity_peak (hour, scope, key, peak) VALUES (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', $2, $3, $4)`,
      [hourMs, scope, key, peak],
    );
  }
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const ALL = { fromMs: H(20, 0), toMs: H(23, 0) };

describe("queryActivity", () => {
  it.each<{
    name: string;
    fromMs?: number;
    toMs?: number;
    nowMs?: number;
    groupBy: ActivityGroupKey[];
    filters?: ActivityFilters;
  }>([
    { name: "only totals, with the fleet's peak, when groupBy is empty", groupBy: [] },
    { name: "one row per UTC day, each with the fleet's peak that day", groupBy: ["day"] },
    { name: "one row per hour when grouped by hour", groupBy: ["hour"] },
    { name: "one row per target with its own peak when grouped by target", groupBy: ["target"] },
    { name: "an '' row for the unknown repo when grouped by repo", groupBy: ["repo"] },
    { name: "day × team rows with each team's daily peak", groupBy: ["day", "team"] },
    { name: "no row peak when grouped by two dimensions (team, model)", groupBy: ["team", "model"] },
    { name: "hour × target × model rows without a row peak", groupBy: ["hour", "target", "model"] },
    { name: "repo × day rows when the time key comes last", groupBy: ["repo", "day"] },
    {
      name: "that team's peak for the totals and each day when filtered to one team",
      groupBy: ["day"],
      filters: { team: ["payments"] },
    },
    {
      name: "no row peak but the team's total peak when grouped by target and filtered by team",
      groupBy: ["target"],
      filters: { team: ["payments"] },
    },
    {
      name: "no peak at all when filtered to two targets without grouping by target",
      groupBy: ["day"],
      filters: { target: ["alice", "carol"] },
    },
    {
      name: "each target's peak but no total peak when grouped by target and filtered to two",
      groupBy: ["target"],
      filters: { target: ["alice", "carol"] },
    },
    {
      name: "no peak at all when filtered by model and repo",
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
      name: "partial first and last days from the hourly rollup around a whole day",
      fromMs: H(20, 22, 30),
      toMs: H(22, 1),
      groupBy: ["day"],
    },
    {
      name: "partial days also for non-time groupings and their totals",
      fromMs: H(20, 23),
      toMs: H(22, 0, 30),
      groupBy: ["target"],
    },
    {
      name: "the hour containing `to` when to is mid-hour",
      fromMs: H(21, 1),
      toMs: H(21, 10, 30),
      groupBy: ["hour"],
    },
    {
      name: "an average over the time until now when the window reaches past it",
      toMs: H(23, 0),
      nowMs: H(22, 6, 30),
      groupBy: ["day"],
    },
    // The 22nd as today: its hours before `to` come from the daily rollups when nothing lies past
    // `to` that day (alice's row and samples at 05:00 do for `to` 03:00), else hour by hour.
    ...(
      [
        [[], {}],
        [["day"], {}],
        [["target"], {}],
        [["day", "team"], {}],
        [["model"], {}],
        [["target"], { team: ["payments"] }],
        [["day"], { team: ["search"] }],
      ] as [ActivityGroupKey[], ActivityFilters][]
    ).flatMap(([groupBy, filters]) =>
      [H(22, 6), H(22, 3), H(22, 0, 30)].map((toMs) => ({
        name: `${groupBy.join("×") || "totals"} ${JSON.stringify(filters)} with today until ${iso(toMs)}`,
        toMs,
        nowMs: toMs,
        groupBy,
        filters,
      })),
    ),
    {
      name: "only today's groups for a window inside today (alice's row lies past `to`)",
      fromMs: H(22, 0),
      toMs: H(22, 3),
      nowMs: H(22, 3),
      groupBy: ["target"],
    },
    {
      name: "today's groups for a window inside today read from the daily rollups",
      fromMs: H(22, 0),
      toMs: H(22, 7),
      nowMs: H(22, 7),
      groupBy: ["target"],
    },
  ])(
    "returns $name",
    async ({ fromMs = ALL.fromMs, toMs = ALL.toMs, nowMs = NOW, groupBy, filters = {} }) => {
      const got = await queryActivity({ pool: db.pool, fromMs, toMs, groupBy, filters, nowMs });
      const want = expected(fromMs, toMs, groupBy, filters, nowMs);
      expect(got.totals).toEqual(want.totals);
      expect(sortRows(got.rows, groupBy)).toEqual(sortRows(want.rows, groupBy));
    },
  );

  it("matches hand-computed figures for the payments team over the first full day", async () => {
    // Payments rows on Nov 21 are fixture rows 2, 4, 6 (k = 3, 5, 7).
    const { rows, totals } = await queryActivity({
      pool: db.pool,
      fromMs: H(21, 0),
      toMs: H(22, 0),
      groupBy: ["team"],
      filters: { team: ["payments"] },
      nowMs: NOW,
    });
    expect(rows).toHaveLength(1);
    expect(totals.turnsStarted).toBe(3 * (3 + 5 + 7));
    expect(totals.turnsFailed).toBe(3); // odd k: all three
    expect(totals.turnsInterrupted).toBe(1); // k = 3
    expect(totals.workingMs).toBe(600_000 * 15);
    expect(totals.answeredWaits).toBe(4 + 6 + 8);
    // (9,000,000 + 900,000 + 90,000) ms active over 24 h.
    expect(totals.activeThreadsAvg).toBeCloseTo(9_990_000 / DAY_MS, 12);
    // Samples for payments that day: 5 at 00:00 (22:00 the day before, 8 the day after: outside).
    expect(totals.activeThreadsPeak).toBe(5);
    expect(rows[0]?.activeThreadsPeak).toBe(5);
    // dur: k=3 → 12 in bucket 3 and 1 in bucket 7; k=5 → 20 in 5, 1 in 9; k=7 → 28 in 7, 1 in 1.
    // 63 turns; the median (rank 31.5) is the 18.5th of bucket 5's 20: 120 s + 18.5/20 of 180 s.
    expect(totals.turnDurationP50Ms).toBe(Math.round(120_000 + (18.5 / 20) * 180_000));
    expect(totals.turnDurationP50Ms).toBe(
      histogramQuantile(TURN_DURATION_BOUNDS_MS, [0, 1, 0, 12, 0, 20, 0, 29, 0, 1], 0.5),
    );
  });

  it("reads whole days from activity_daily, not from the hourly rows", async () => {
    // A day known only to the daily rollup (as after hourly retention): counted for whole days, and
    // absent when the same window is read hour by hour.
    await db.pool.query(
      `INSERT INTO activity_daily (day, target_id, team, model, repo, working_ms, turns_started)
       VALUES ('2026-11-26', 'dave', 'ops', 'gpt-5.4', '', 3600000, 11)`,
    );
    try {
      const window = { pool: db.pool, fromMs: H(26, 0), toMs: H(27, 0), filters: {}, nowMs: NOW };
      const daily = await queryActivity({ ...window, groupBy: ["day"] });
      expect(daily.rows).toMatchObject([
        { day: "2026-11-26T00:00:00Z", turnsStarted: 11, workingMs: 3_600_000 },
      ]);
      expect(daily.totals.activeThreadsAvg).toBeCloseTo(1 / 24, 12);
      const hourly = await queryActivity({ ...window, groupBy: ["hour"] });
      expect(hourly.totals.turnsStarted).toBe(0);
    } finally {
      await db.pool.query("DELETE FROM activity_daily WHERE target_id = 'dave'");
    }
  });

  it("reads today's hours before `to` from the daily rollups only when nothing lies past `to` that day", async () => {
    // Known only to the daily rollups (what they would hold if the hourly rows were gone): counted
    // when the day is read from them, absent when it is read hour by hour.
    await db.pool.query(
      `INSERT INTO activity_daily (day, target_id, team, model, repo, working_ms, turns_started)
       VALUES ('2026-11-22', 'dave', 'payments', 'gpt-5.4', '', 3600000, 11)`,
    );
    const peakOfDay = (peak: number) =>
      db.pool.query(
        "UPDATE activity_peak_daily SET peak = $1 WHERE scope = 'team' AND day = '2026-11-22' AND key = 'payments'",
        [peak],
      );
    await peakOfDay(50); // the hours' samples say 8
    try {
      const read = (toMs: number) =>
        queryActivity({
          pool: db.pool,
          fromMs: H(22, 0),
          toMs,
          groupBy: [],
          filters: { team: ["payments"] },
          nowMs: toMs,
        });
      // Nothing of payments after 06:00 on the 22nd: the daily rows (alice's at 05:00, k = 9, and dave's).
      const daily = await read(H(22, 6));
      expect(daily.totals.turnsStarted).toBe(3 * 9 + 11);
      expect(daily.totals.activeThreadsPeak).toBe(50);
      // alice's row and payments' sample at 05:00 lie past 03:00: hour by hour, without dave.
      const hourly = await read(H(22, 3));
      expect(hourly.totals.turnsStarted).toBe(0);
      expect(hourly.totals.activeThreadsPeak).toBe(0);
      // The same day in the past (not today): hour by hour.
      const past = await queryActivity({
        pool: db.pool,
        fromMs: H(22, 0),
        toMs: H(22, 6),
        groupBy: [],
        filters: { team: ["payments"] },
        nowMs: NOW,
      });
      expect(past.totals.turnsStarted).toBe(3 * 9);
      expect(past.totals.activeThreadsPeak).toBe(8);
    } finally {
      await db.pool.query("DELETE FROM activity_daily WHERE target_id = 'dave'");
      await peakOfDay(8);
    }
  });

  it("returns at most `limit` rows while the totals still cover the whole range", async () => {
    const { rows, totals } = await queryActivity({
      ...ALL,
      pool: db.pool,
      groupBy: ["hour"],
      filters: {},
      limit: 2,
      nowMs: NOW,
    });
    expect(rows.map((r) => r.hour)).toEqual(["2026-11-20T22:00:00Z", "2026-11-20T23:00:00Z"]);
    expect(totals).toEqual(expected(ALL.fromMs, ALL.toMs, [], {}, NOW).totals);
  });

  it("returns null percentiles and a zero average when nothing was observed", async () => {
    const { totals } = await queryActivity({
      pool: db.pool,
      fromMs: H(10, 0),
      toMs: H(11, 0),
      groupBy: [],
      filters: {},
      nowMs: NOW,
    });
    expect(totals).toMatchObject({
      turnDurationP50Ms: null,
      timeToAnswerP90Ms: null,
      activeThreadsAvg: 0,
      activeThreadsPeak: 0,
    });
  });
});
