/**
 * The coarser activity grains of migration 20261206140300_activity_grain: activity_daily_target
 * equals activity_daily summed over model and repo, and activity_peak_daily equals activity_peak's
 * maximum per day, after every kind of statement their triggers follow (the ingest path's upserts
 * are checked in activity-write.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { ACTIVITY_COUNTERS, dailyTargetGrain, peakDailyGrain } from "./support/activity-grains.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.pool.query("TRUNCATE activity_hourly, activity_peak");
});

/** [hour, target, team, model, repo, k]: an hourly row whose counters are k times the column's position. */
type Hourly = [string, string, string, string, string, number];

/** Upsert-and-increment hourly rows in one statement, as the ingest path does. */
async function upsert(rows: Hourly[]): Promise<void> {
  const cols = ACTIVITY_COUNTERS;
  const values = rows
    .map(
      ([hour, target, team, model, repo, k]) =>
        `('${hour}'::timestamp, '${target}', '${team}', '${model}', '${repo}', ${cols.map((_, i) => k * (i + 1)).join(", ")})`,
    )
    .join(", ");
  await db.pool.query(
    `INSERT INTO activity_hourly (hour, target_id, team, model, repo, ${cols.join(", ")}) VALUES ${values}
     ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET
     ${cols.map((c) => `${c} = activity_hourly.${c} + EXCLUDED.${c}`).join(", ")}`,
  );
}

async function expectDailyTargetEqual(): Promise<number> {
  const { stored, summed } = await dailyTargetGrain(db.pool);
  expect(stored).toEqual(summed);
  return stored.length;
}

describe("activity_daily_target", () => {
  it("equals activity_daily summed over model and repo after inserts and upserts of several days", async () => {
    await upsert([
      ["2026-11-20 22:00", "alice", "payments", "gpt-5.4", "api", 1],
      ["2026-11-20 23:00", "alice", "payments", "gpt-5.5", "web", 2],
      ["2026-11-21 00:00", "alice", "payments", "gpt-5.4", "api", 3],
      ["2026-11-21 00:00", "bob", "payments", "gpt-5.4", "", 4],
      ["2026-11-21 09:00", "carol", "search", "o4-mini", "search", 5],
    ]);
    expect(await expectDailyTargetEqual()).toBe(4);
    // Existing keys (an update of activity_daily and the grain) mixed with new ones in one statement.
    await upsert([
      ["2026-11-20 22:00", "alice", "payments", "gpt-5.4", "api", 7],
      ["2026-11-21 00:00", "alice", "payments", "gpt-5.5", "web", 11],
      ["2026-11-21 01:00", "bob", "payments", "gpt-5.4", "", 13],
      ["2026-11-22 00:00", "carol", "search", "o4-mini", "search", 17],
    ]);
    expect(await expectDailyTargetEqual()).toBe(5);
    const { rows } = await db.pool.query(
      "SELECT working_ms, daily_rows FROM activity_daily_target WHERE target_id = 'alice' ORDER BY day",
    );
    // working_ms is the first counter (k × 1): day 20 = 1 + 2 + 7; day 21 = 3 + 11 over two daily rows.
    expect(rows).toEqual([
      { working_ms: 10, daily_rows: 2 },
      { working_ms: 14, daily_rows: 2 },
    ]);
  });

  it("follows an update that moves hourly rows to another team", async () => {
    await upsert([
      ["2026-11-21 00:00", "alice", "payments", "gpt-5.4", "api", 1],
      ["2026-11-21 05:00", "alice", "payments", "gpt-5.5", "api", 2],
      ["2026-11-21 06:00", "bob", "payments", "gpt-5.4", "api", 3],
    ]);
    await db.pool.query("UPDATE activity_hourly SET team = 'platform' WHERE target_id = 'alice'");
    expect(await expectDailyTargetEqual()).toBe(3);
    // activity_daily keeps the old key's rows at zero (its trigger adds new minus old), and so does the grain.
    const { rows } = await db.pool.query(
      "SELECT target_id, team, working_ms, daily_rows FROM activity_daily_target ORDER BY 1, 2",
    );
    expect(rows).toEqual([
      { target_id: "alice", team: "payments", working_ms: 0, daily_rows: 2 },
      { target_id: "alice", team: "platform", working_ms: 3, daily_rows: 2 },
      { target_id: "bob", team: "payments", working_ms: 3, daily_rows: 1 },
    ]);
  });

  it("subtracts deleted daily rows and drops a key when its last daily row goes", async () => {
    await upsert([
      ["2026-11-21 00:00", "alice", "payments", "gpt-5.4", "api", 1],
      ["2026-11-21 01:00", "alice", "payments", "gpt-5.5", "web", 2],
      ["2026-11-21 02:00", "bob", "payments", "gpt-5.4", "api", 3],
    ]);
    await db.pool.query("DELETE FROM activity_daily WHERE target_id = 'alice' AND model = 'gpt-5.5'");
    expect(await expectDailyTargetEqual()).toBe(2);
    await db.pool.query("DELETE FROM activity_daily WHERE target_id = 'bob'");
    expect(await expectDailyTargetEqual()).toBe(1);
    await db.pool.query("TRUNCATE activity_daily");
    expect(await expectDailyTargetEqual()).toBe(0);
  });

  it("keeps its rows when retention deletes hourly rows, like activity_daily", async () => {
    await upsert([["2026-11-21 00:00", "alice", "payments", "gpt-5.4", "api", 1]]);
    await db.pool.query("DELETE FROM activity_hourly");
    expect(await expectDailyTargetEqual()).toBe(1);
  });
});

describe("activity_peak_daily", () => {
  async function sample(rows: [string, string, string, number][]): Promise<void> {
    await db.pool.query(
      `INSERT INTO activity_peak (hour, scope, key, peak)
       SELECT h::timestamp, s, k, p FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS x(h, s, k, p)
       ON CONFLICT (scope, hour, key) DO UPDATE SET peak = GREATEST(activity_peak.peak, EXCLUDED.peak)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
  }

  it("equals activity_peak's maximum per day after samples that raise and do not raise a peak", async () => {
    await sample([
      ["2026-11-21 09:00", "fleet", "", 3],
      ["2026-11-21 09:00", "team", "payments", 2],
      ["2026-11-21 10:00", "fleet", "", 5],
      ["2026-11-22 00:00", "fleet", "", 1],
    ]);
    await sample([
      ["2026-11-21 09:00", "fleet", "", 4], // raises the hour, not the day (10:00 had 5)
      ["2026-11-21 09:00", "team", "payments", 6], // raises both
      ["2026-11-22 00:00", "fleet", "", 0], // lower: GREATEST keeps 1
    ]);
    const { stored, summed } = await peakDailyGrain(db.pool);
    expect(stored).toEqual(summed);
    expect(stored.map((r) => (r as { peak: number }).peak)).toEqual([5, 1, 6]);
  });
});
