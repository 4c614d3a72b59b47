/**
 * budgetSpend (issue 14) against a real Postgres: the current UTC day, week (from Monday) and
 * month per target, with unpriced tokens, whole days from usage_daily and today from
 * usage_hourly; a week that starts in the previous month; the same sums as /usage's query.
 */
import { periodBounds } from "@codex-fleet/protocol/budgets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { budgetSpend } from "../src/queries/budgets.ts";
import { queryUsage } from "../src/queries/usage.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const at = (month: number, day: number, hour: number) => Date.UTC(2026, month - 1, day, hour);

/** [hour, target, team, cost, unpriced tokens]. */
const ROWS: [number, string, string, number, number][] = [
  [at(10, 31, 23), "alice", "payments", 100, 0], // October: nothing of November
  [at(11, 1, 10), "alice", "payments", 1, 0], // month only (Sunday, before the week)
  [at(11, 9, 0), "alice", "payments", 2, 0], // Monday: week and month
  [at(11, 10, 13), "bob", "search", 4, 50], // week and month
  [at(11, 11, 1), "alice", "payments", 8, 0], // today
  [at(11, 11, 5), "bob", "search", 16, 7], // today, the current hour's row
  [at(11, 11, 5), "bob", "other-team", 32, 0], // bob's usage while in another team
  [at(11, 30, 9), "alice", "payments", 64, 0], // Monday Nov 30: December's first week
  [at(12, 1, 2), "alice", "payments", 128, 1], // Tuesday Dec 1
];

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  for (const [hour, target, team, cost, unpriced] of ROWS)
    await db.pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, cost_usd, unpriced_tokens)
       VALUES (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', $2, $3, 'gpt-5.5', '', $4, $5)`,
      [hour, target, team, cost, unpriced],
    );
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const p = (costUsd: number, unpricedTokens = 0) => ({ costUsd, unpricedTokens });

describe("budgetSpend", () => {
  it("does sum each target's day, week and month (Wednesday Nov 11, 05:30)", async () => {
    const rows = await budgetSpend({ pool: db.pool, nowMs: at(11, 11, 5) + 30 * 60_000 });
    expect(rows).toEqual([
      { targetId: "alice", team: "payments", day: p(8), week: p(10), month: p(11) },
      { targetId: "bob", team: "other-team", day: p(32), week: p(32), month: p(32) },
      { targetId: "bob", team: "search", day: p(16, 7), week: p(20, 57), month: p(20, 57) },
    ]);
  });

  it("does count a week that began in the previous month (Tuesday Dec 1)", async () => {
    const rows = await budgetSpend({ pool: db.pool, nowMs: at(12, 1, 10) });
    expect(rows).toEqual([
      { targetId: "alice", team: "payments", day: p(128, 1), week: p(192, 1), month: p(128, 1) },
    ]);
  });

  it("does give the same sums as the /usage query over each period", async () => {
    const nowMs = at(11, 11, 5) + 30 * 60_000;
    const rows = await budgetSpend({ pool: db.pool, nowMs });
    for (const period of ["day", "week", "month"] as const) {
      const { startMs } = periodBounds(period, nowMs);
      const { totals } = await queryUsage({
        pool: db.pool,
        fromMs: startMs,
        toMs: nowMs,
        groupBy: [],
        filters: {},
      });
      expect(rows.reduce((n, r) => n + r[period].costUsd, 0)).toBeCloseTo(totals.costUsd, 9);
      expect(rows.reduce((n, r) => n + r[period].unpricedTokens, 0)).toBe(totals.unpricedTokens);
    }
  });

  it("does answer nothing when nothing was used", async () => {
    expect(await budgetSpend({ pool: db.pool, nowMs: at(6, 15, 12) })).toEqual([]);
  });
});
