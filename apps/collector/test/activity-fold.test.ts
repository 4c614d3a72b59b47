/**
 * The activity fold job (issue 15): on its timer it moves the pending changes of
 * activity_daily_target into the folded grains (the grains themselves: packages/db's
 * activity-fold.test.ts), and stops cleanly.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActivityFoldJob } from "../src/activity-fold.ts";

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

const count = async (table: string) =>
  Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);

describe("ActivityFoldJob", () => {
  it("folds what ingest left pending on its timer, until stopped", async () => {
    await db.pool.query(
      `INSERT INTO activity_hourly (hour, target_id, team, model, repo, working_ms, turns_started)
       VALUES ('2026-12-05 10:00', 'alice', 'payments', 'm', '', 1000, 2), ('2026-12-06 11:00', 'bob', 'payments', 'm', '', 500, 1)`,
    );
    expect(await count("activity_fold_pending")).toBe(2);
    const job = new ActivityFoldJob({ pool: db.pool, log: pino({ level: "silent" }), intervalMs: 20 });
    job.start();
    try {
      await expect.poll(() => count("activity_fold_pending"), { timeout: 5000 }).toBe(0);
    } finally {
      await job.stop();
    }
    const { rows } = await db.pool.query(
      "SELECT to_char(day, 'YYYY-MM-DD') AS day, team, working_ms, turns_started, n FROM activity_daily_team ORDER BY 1",
    );
    expect(rows).toEqual([
      { day: "2026-12-05", team: "payments", working_ms: 1000, turns_started: 2, n: 1 },
      { day: "2026-12-06", team: "payments", working_ms: 500, turns_started: 1, n: 1 },
    ]);
    // Stopped: nothing folds any more.
    await db.pool.query(
      `INSERT INTO activity_hourly (hour, target_id, team, model, repo, working_ms)
       VALUES ('2026-12-06 12:00', 'bob', 'payments', 'm', '', 1)`,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await count("activity_fold_pending")).toBe(1);
    expect(await job.runOnce()).toBe(1);
  });

  it("folds usage's pending changes on the same timer (issue 13)", async () => {
    await db.pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, total_tokens)
       VALUES ('2026-12-05 10:00', 'alice', 'payments', 'm', '', 2, 100), ('2026-12-05 11:00', 'bob', 'payments', 'm', '', 1, 50)`,
    );
    expect(await count("usage_fold_pending")).toBe(2);
    const job = new ActivityFoldJob({ pool: db.pool, log: pino({ level: "silent" }), intervalMs: 20 });
    job.start();
    try {
      await expect.poll(() => count("usage_fold_pending"), { timeout: 5000 }).toBe(0);
    } finally {
      await job.stop();
    }
    const { rows } = await db.pool.query(
      "SELECT to_char(day, 'YYYY-MM-DD') AS day, team, model, turns::int, total_tokens::int, n::int FROM usage_daily_team",
    );
    expect(rows).toEqual([
      { day: "2026-12-05", team: "payments", model: "m", turns: 3, total_tokens: 150, n: 2 },
    ]);
  });
});
