/**
 * The folded activity grains (migration 20261206150000_activity_fold): activity_daily_team and
 * activity_span_target plus the pending rows always equal activity_daily_target, before and after
 * folds, with rows arriving after a fold, deletes, a transaction open during a fold and two
 * collectors writing one team's day at once; and queryActivity over them answers what the
 * model-grain rollups (activity_daily, activity_hourly — checked against a JS oracle in
 * activity-query.test.ts) answer.
 */
import type { ActivityGroupKey, ActivityRow } from "@codex-fleet/protocol/activity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { type ActivityFilters, dailyGrain, queryActivity, spanBlocks } from "../src/queries/activity.ts";
import { foldActivity } from "../src/repositories/activity-fold.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** "Now": mid-afternoon of 2026-11-30, the last of the fixture's 40 days. */
const NOW = Date.UTC(2026, 10, 30, 15, 20);
const FIRST_DAY = Date.UTC(2026, 10, 30) - 39 * DAY_MS;
const MODELS = ["gpt-5.4", "gpt-5.5"];
const TARGETS: [string, string][] = [
  ["alice", "payments"],
  ["bob", "payments"],
  ["carol", "search"],
  ["dave", "search"],
  ["erin", "infra"],
];
/** The counters GET /api/v1/activity reads, as stored in every activity rollup. */
const COUNTERS = [
  "turns_started",
  "turns_completed",
  "turns_failed",
  "turns_interrupted",
  "working_ms",
  "approval_wait_ms",
  "input_wait_ms",
  "system_error_ms",
  "approval_waits",
  "input_waits",
  "answered_waits",
  ...Array.from({ length: 10 }, (_, i) => `dur_h${i}`),
  ...Array.from({ length: 10 }, (_, i) => `ans_h${i}`),
];

const ts = (ms: number) => new Date(ms).toISOString().replace("Z", "");

/** [hourMs, target, model, k]: an hourly row whose counters are k times the column's position. */
type Hourly = [number, string, string, number];

/** Upsert-and-increment hourly rows in one statement, as the ingest path does. */
async function upsert(rows: Hourly[], client: Pick<Db["pool"], "query"> = db.pool): Promise<void> {
  const team = new Map(TARGETS);
  const values = rows
    .map(
      ([hourMs, target, model, k]) =>
        `('${ts(hourMs)}'::timestamp, '${target}', '${team.get(target)}', '${model}', 'github.com/acme/api', ${COUNTERS.map((_, i) => k * (i + 1)).join(", ")})`,
    )
    .join(", ");
  await client.query(
    `INSERT INTO activity_hourly (hour, target_id, team, model, repo, ${COUNTERS.join(", ")}) VALUES ${values}
     ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET
     ${COUNTERS.map((c) => `${c} = activity_hourly.${c} + EXCLUDED.${c}`).join(", ")}`,
  );
}

/** A deterministic spread of rows: each target works on some hours of some days of [fromDay, toDay). */
function fixture(fromDay: number, toDay: number, seed: number): Hourly[] {
  const rows: Hourly[] = [];
  for (let d = fromDay; d < toDay; d += DAY_MS) {
    TARGETS.forEach(([target], t) => {
      const day = Math.round((d - FIRST_DAY) / DAY_MS);
      if ((day + t + seed) % 4 === 0) return; // a day off
      for (const h of [9, 13, 14]) {
        const k = ((day * 7 + t * 3 + h + seed) % 5) + 1;
        rows.push([d + h * HOUR_MS, target, MODELS[(day + h + t) % 2] as string, k]);
      }
    });
  }
  return rows;
}

const pendingCount = async () =>
  Number((await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM activity_fold_pending")).rows[0]?.n);

/** The grains plus the pending rows, and activity_daily_target summed the same way, in key order. */
async function expectGrainsEqual(): Promise<void> {
  const sums = `${COUNTERS.map((c) => `sum(${c})::float8 AS ${c}`).join(", ")}`;
  const pending = (keys: string) => `SELECT ${keys}, ${COUNTERS.join(", ")}, n FROM activity_fold_pending`;
  const team = await db.pool.query(
    `SELECT day, team, ${sums}, sum(n)::float8 AS n FROM (
       SELECT day, team, ${COUNTERS.join(", ")}, n FROM activity_daily_team UNION ALL ${pending("day, team")}
     ) x GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2`,
  );
  const teamWant = await db.pool.query(
    `SELECT day, team, ${sums}, count(*)::float8 AS n FROM activity_daily_target GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  expect(team.rows).toEqual(teamWant.rows);
  const start = (span: string) =>
    `to_timestamp(floor(extract(epoch FROM day) / (86400 * ${span})) * 86400 * ${span}) AT TIME ZONE 'UTC'`;
  const span = await db.pool.query(
    `SELECT span, start_day, target_id, team, ${sums}, sum(n)::float8 AS n FROM (
       SELECT span, start_day, target_id, team, ${COUNTERS.join(", ")}, n FROM activity_span_target
       UNION ALL
       SELECT s.span, ${start("s.span")}, target_id, team, ${COUNTERS.join(", ")}, n
       FROM activity_fold_pending CROSS JOIN (VALUES (1), (2), (4), (8), (16)) s (span)
     ) x GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4`,
  );
  const spanWant = await db.pool.query(
    `SELECT s.span, ${start("s.span")} AS start_day, target_id, team, ${sums}, count(*)::float8 AS n
     FROM activity_daily_target CROSS JOIN (VALUES (1), (2), (4), (8), (16)) s (span)
     GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
  );
  expect(span.rows).toEqual(spanWant.rows);
}

/** The requests answered from the folded grains (or activity_daily_target), each with the grain it reads. */
const SHAPES: { groupBy: ActivityGroupKey[]; filters: ActivityFilters }[] = [
  { groupBy: [], filters: {} },
  { groupBy: ["day"], filters: {} },
  { groupBy: ["day", "team"], filters: {} },
  { groupBy: ["team"], filters: {} },
  { groupBy: ["target"], filters: {} },
  { groupBy: ["day"], filters: { team: ["search"] } },
  { groupBy: ["target"], filters: { team: ["payments"] } },
  { groupBy: [], filters: { target: ["carol"] } },
  { groupBy: ["day", "target"], filters: {} },
];
/** 30 days ending now (the dashboard's), a window with partial first and last days, 40 whole days. */
const MONTH = { fromMs: Date.UTC(2026, 10, 1), toMs: NOW };
const WINDOWS = [
  MONTH,
  { fromMs: FIRST_DAY + 5 * DAY_MS + 7 * HOUR_MS, toMs: Date.UTC(2026, 10, 27, 14) },
  { fromMs: FIRST_DAY, toMs: FIRST_DAY + 40 * DAY_MS },
];
const MODEL_FILTER: ActivityFilters = { model: MODELS };

/** Without the peak, which a model filter cannot read (and which the grains do not change). */
const noPeak = (r: ActivityRow | Omit<ActivityRow, never>) => ({ ...r, activeThreadsPeak: null });

/**
 * Every shape and window answers what the same request filtered to every model answers: the same
 * rows read from activity_daily and activity_hourly instead of the folded grains.
 */
async function expectAnswersEqual(): Promise<void> {
  for (const w of WINDOWS) {
    for (const { groupBy, filters } of SHAPES) {
      const args = { pool: db.pool, ...w, groupBy, nowMs: NOW };
      const got = await queryActivity({ ...args, filters });
      const want = await queryActivity({ ...args, filters: { ...filters, ...MODEL_FILTER } });
      const label = `${groupBy.join("×") || "totals"} ${JSON.stringify(filters)} ${ts(w.fromMs)}`;
      expect(noPeak(got.totals), label).toEqual(noPeak(want.totals));
      expect(got.rows.map(noPeak), label).toEqual(want.rows.map(noPeak));
      expect(got.totals.turnsStarted, label).toBeGreaterThan(0);
    }
  }
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  // Day by day, as a collector writes: one statement per day.
  for (let d = FIRST_DAY; d < FIRST_DAY + 40 * DAY_MS; d += DAY_MS) await upsert(fixture(d, d + DAY_MS, 0));
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

describe("spanBlocks", () => {
  it("covers whole days with aligned blocks, at most two of each size", () => {
    for (let from = 20_000; from < 20_040; from++) {
      for (const days of [1, 2, 3, 7, 29, 30, 31, 60]) {
        const blocks = spanBlocks(from * DAY_MS, (from + days) * DAY_MS);
        let at = from * DAY_MS;
        for (const b of blocks) {
          expect(b.startMs).toBe(at);
          expect((b.startMs / DAY_MS) % b.span).toBe(0);
          at += b.span * DAY_MS;
        }
        expect(at).toBe((from + days) * DAY_MS);
        for (const s of [1, 2, 4, 8])
          expect(blocks.filter((b) => b.span === s).length).toBeLessThanOrEqual(2);
        if (days === 29) expect(blocks.length).toBeLessThanOrEqual(8);
      }
    }
  });
});

describe("the folded activity grains", () => {
  it("are read for the day, team and target shapes without a time key", () => {
    expect(dailyGrain([], {})).toBe("team");
    expect(dailyGrain(["day", "team"], { team: ["a"] })).toBe("team");
    expect(dailyGrain(["target"], { team: ["a"] })).toBe("span");
    expect(dailyGrain([], { target: ["a"] })).toBe("span");
    expect(dailyGrain(["day", "target"], {})).toBe("target");
    expect(dailyGrain(["day"], { model: ["m"] })).toBe("daily");
  });

  it("answer exactly from the pending rows alone, before any fold", async () => {
    expect(await pendingCount()).toBeGreaterThan(0);
    expect(Number((await db.pool.query("SELECT count(*) AS n FROM activity_daily_team")).rows[0]?.n)).toBe(0);
    await expectGrainsEqual();
    await expectAnswersEqual();
  });

  it("hold everything after a fold, with nothing left pending", async () => {
    const pending = await pendingCount();
    expect(await foldActivity(db.pool)).toBe(pending);
    expect(await pendingCount()).toBe(0);
    expect(
      Number((await db.pool.query("SELECT count(*) AS n FROM activity_span_target")).rows[0]?.n),
    ).toBeGreaterThan(0);
    await expectGrainsEqual();
    await expectAnswersEqual();
    expect(await foldActivity(db.pool)).toBe(0);
  });

  it("add rows arriving after a fold for days already folded: pending, then folded", async () => {
    // Upserts into existing hourly rows and new keys, on old days and today.
    await upsert([
      [FIRST_DAY + 3 * DAY_MS + 9 * HOUR_MS, "alice", "gpt-5.4", 2],
      [FIRST_DAY + 3 * DAY_MS + 9 * HOUR_MS, "alice", "gpt-5.5", 3],
      [FIRST_DAY + 17 * DAY_MS + 22 * HOUR_MS, "erin", "gpt-5.4", 4],
      [Date.UTC(2026, 10, 30, 15), "dave", "gpt-5.4", 1],
    ]);
    await upsert(fixture(FIRST_DAY + 20 * DAY_MS, FIRST_DAY + 26 * DAY_MS, 1));
    expect(await pendingCount()).toBeGreaterThan(0);
    await expectGrainsEqual();
    await expectAnswersEqual();
    await foldActivity(db.pool);
    expect(await pendingCount()).toBe(0);
    await expectGrainsEqual();
    await expectAnswersEqual();
  });

  it("drop a group whose last daily row is deleted, folded or not", async () => {
    const day = ts(FIRST_DAY + 9 * DAY_MS);
    const { rowCount } = await db.pool.query(
      `DELETE FROM activity_daily WHERE day = '${day}' AND team = 'infra'`,
    );
    expect(rowCount).toBeGreaterThan(0);
    const erin = await queryActivity({
      pool: db.pool,
      fromMs: FIRST_DAY + 9 * DAY_MS,
      toMs: FIRST_DAY + 10 * DAY_MS,
      groupBy: ["team"],
      filters: {},
      nowMs: NOW,
    });
    expect(erin.rows.map((r) => r.team)).not.toContain("infra");
    await expectGrainsEqual();
    await expectAnswersEqual();
    await foldActivity(db.pool);
    await expectGrainsEqual();
    await expectAnswersEqual();
  });

  it("leave a transaction's rows pending when it commits after the fold began", async (ctx) => {
    if (testDb.kind === "embedded") ctx.skip(); // PGlite is one session: no concurrent transactions
    const ingest = await db.pool.connect();
    try {
      await ingest.query("BEGIN");
      await upsert(fixture(FIRST_DAY + 30 * DAY_MS, FIRST_DAY + 33 * DAY_MS, 2), ingest);
      await upsert([[FIRST_DAY + 2 * DAY_MS + 13 * HOUR_MS, "bob", "gpt-5.4", 5]]);
      expect(await foldActivity(db.pool)).toBeGreaterThan(0); // bob's committed row only
      await ingest.query("COMMIT");
    } finally {
      ingest.release();
    }
    expect(await pendingCount()).toBeGreaterThan(0);
    await expectGrainsEqual();
    await expectAnswersEqual();
    await foldActivity(db.pool);
    await expectGrainsEqual();
  });

  it("let two collectors write one team's day at once without waiting on each other", async (ctx) => {
    if (testDb.kind === "embedded") ctx.skip();
    const a = await db.pool.connect();
    const b = await db.pool.connect();
    try {
      // alice and bob are both in payments: a per-team row written in ingest would make b wait for a.
      await a.query("BEGIN");
      await b.query("BEGIN");
      await b.query("SET LOCAL lock_timeout = '1s'");
      await upsert([[Date.UTC(2026, 10, 30, 14), "alice", "gpt-5.4", 3]], a);
      await upsert([[Date.UTC(2026, 10, 30, 14), "bob", "gpt-5.5", 2]], b);
      await b.query("COMMIT");
      await a.query("COMMIT");
    } finally {
      a.release();
      b.release();
    }
    await expectGrainsEqual();
    await expectAnswersEqual();
    await foldActivity(db.pool);
    await expectGrainsEqual();
    await expectAnswersEqual();
  });

  it("are folded by one instance at a time", async (ctx) => {
    if (testDb.kind === "embedded") ctx.skip();
    await upsert([[Date.UTC(2026, 10, 30, 15), "carol", "gpt-5.4", 1]]);
    const other = await db.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock(hashtext('codex-fleet:activity-fold'))");
      expect(await foldActivity(db.pool)).toBeNull();
      expect(await pendingCount()).toBeGreaterThan(0);
      await other.query("ROLLBACK");
    } finally {
      other.release();
    }
    expect(await foldActivity(db.pool)).toBeGreaterThan(0);
    await expectGrainsEqual();
  });

  it("give each target's and the fleet's peak over a window as the maximum of its hourly samples", async () => {
    // Samples every 5 hours for every target and the fleet, with peaks that vary by day and target.
    await db.pool.query(
      `INSERT INTO activity_peak (hour, scope, key, peak)
       SELECT h, s.scope, s.key, 1 + (extract(doy FROM h)::int * 7 + length(s.key) * 3 + extract(hour FROM h)::int) % 11
       FROM generate_series($1::timestamp, $2::timestamp, interval '5 hours') h
       CROSS JOIN (VALUES ('fleet', ''), ('target', 'alice'), ('target', 'carol'), ('target', 'erin')) s (scope, key)`,
      [ts(FIRST_DAY), ts(NOW - HOUR_MS)],
    );
    // A later sample raising one day's peak (the spans follow activity_peak_daily's updates).
    await db.pool.query(
      `INSERT INTO activity_peak (hour, scope, key, peak) VALUES ('${ts(Date.UTC(2026, 10, 12, 3))}', 'target', 'carol', 40)
       ON CONFLICT (scope, hour, key) DO UPDATE SET peak = GREATEST(activity_peak.peak, EXCLUDED.peak)`,
    );
    await upsert(fixture(FIRST_DAY, FIRST_DAY + 40 * DAY_MS, 3));
    for (const w of WINDOWS) {
      const got = await queryActivity({ pool: db.pool, ...w, groupBy: ["target"], filters: {}, nowMs: NOW });
      const { rows } = await db.pool.query<{ key: string; peak: number }>(
        `SELECT key, max(peak) AS peak FROM activity_peak
         WHERE hour >= date_trunc('hour', $1::timestamp) AND hour < $2::timestamp AND scope = $3 GROUP BY key`,
        [ts(w.fromMs), ts(w.toMs), "target"],
      );
      const want = new Map(rows.map((r) => [r.key, r.peak]));
      for (const r of got.rows)
        expect(r.activeThreadsPeak, `${r.target} ${ts(w.fromMs)}`).toBe(want.get(r.target ?? "") ?? 0);
      expect(want.get("carol")).toBeGreaterThan(0);
      const fleet = await db.pool.query<{ peak: number }>(
        `SELECT max(peak) AS peak FROM activity_peak
         WHERE hour >= date_trunc('hour', $1::timestamp) AND hour < $2::timestamp AND scope = 'fleet'`,
        [ts(w.fromMs), ts(w.toMs)],
      );
      expect(got.totals.activeThreadsPeak).toBe(fleet.rows[0]?.peak);
    }
    const carol = await queryActivity({
      pool: db.pool,
      ...MONTH,
      groupBy: ["target"],
      filters: {},
      nowMs: NOW,
    });
    expect(carol.rows.find((r) => r.target === "carol")?.activeThreadsPeak).toBe(40);
  });

  it("are emptied with activity_daily", async () => {
    await upsert([[Date.UTC(2026, 10, 30, 15), "carol", "gpt-5.4", 1]]);
    await db.pool.query("TRUNCATE activity_daily");
    for (const t of ["activity_fold_pending", "activity_daily_team", "activity_span_target"])
      expect(Number((await db.pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0]?.n), t).toBe(0);
  });
});
