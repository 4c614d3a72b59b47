/**
 * Retention (issue 13) against a real Postgres (and embedded PGlite): the job deletes the ledger
 * and ended turns older than detailDays and hourly rollups older than hourlyDays, in batches;
 * keeps daily rollups, threads, in-progress turns and everything newer; one instance at a time
 * (advisory lock); and the config refuses bad values with the key named.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetentionJob } from "../src/retention.ts";
import { errorOf, loadFile, removeScratchDirs } from "./support/config-files.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const log = pino({ level: "silent" });

/** Seed rows aged `ages` days (each table), one in-progress old turn, and daily rollups. */
async function seed(db: Db, ages: number[]): Promise<void> {
  const ts = (daysAgo: number) => new Date(NOW - daysAgo * DAY).toISOString().replace("Z", "");
  await db.pool.query("INSERT INTO target (id, url) VALUES ('t', 'ws://x') ON CONFLICT DO NOTHING");
  await db.pool.query("INSERT INTO thread (id, target_id) VALUES ('th', 't') ON CONFLICT DO NOTHING");
  for (const [i, age] of ages.entries()) {
    const at = ts(age);
    await db.pool.query(
      `INSERT INTO usage_event (thread_id, target_id, team, model, repo, at, input_tokens, cached_input_tokens,
          output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, cumulative_total)
       VALUES ('th', 't', '', 'm', '', $1, 1, 0, 0, 0, 1, 0, 0, 'v', $2)`,
      [at, i + 1],
    );
    await db.pool.query(
      "INSERT INTO turn (id, thread_id, target_id, status, started_at) VALUES ($1, 'th', 't', 'completed', $2)",
      [`tu-${i}`, at],
    );
    await db.pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, total_tokens)
       VALUES (date_trunc('hour', $1::timestamp), 't', '', 'm', '', 1, 1)`,
      [at],
    );
    await db.pool.query(
      `INSERT INTO activity_hourly (hour, target_id, team, model, repo, working_ms)
       VALUES (date_trunc('hour', $1::timestamp), 't', '', 'm', '', 1000)`,
      [at],
    );
    await db.pool.query(
      "INSERT INTO activity_peak (hour, scope, key, peak) VALUES (date_trunc('hour', $1::timestamp), 'fleet', '', 2)",
      [at],
    );
    await db.pool.query(
      `INSERT INTO plan_limit_sample (target_id, limit_id, "window", at, used_percent) VALUES ('t', 'codex', 'primary', $1, 5)`,
      [at],
    );
    await db.pool.query(
      `INSERT INTO audit_event (at, principal_kind, principal_name, action, subject) VALUES ($1, 'token', 'admin token', 'target.create', 't')`,
      [at],
    );
  }
  await db.pool.query(
    "INSERT INTO turn (id, thread_id, target_id, status, started_at) VALUES ('running', 'th', 't', 'inProgress', $1)",
    [ts(500)],
  );
}

async function counts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of [
    "usage_event",
    "turn",
    "usage_hourly",
    "usage_daily",
    "activity_hourly",
    "activity_daily",
    "activity_peak",
    "plan_limit_sample",
    "audit_event",
    "thread",
  ]) {
    const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
    out[t] = Number(rows[0]?.n);
  }
  return out;
}

const job = (db: Db, over: Partial<ConstructorParameters<typeof RetentionJob>[0]> = {}) =>
  new RetentionJob({
    pool: db.pool,
    retention: { detailDays: 30, hourlyDays: 10, threadMemoryDays: 7, pruneIntervalMs: 3_600_000 },
    auditDays: 30,
    log,
    now: () => NOW,
    batchRows: 3,
    pauseMs: 0,
    ...over,
  });

describe.each(["server", "embedded"] as const)("retention on %s Postgres", (kind) => {
  let testDb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    testDb =
      kind === "server"
        ? await createTestDatabase({ fallbackToEmbedded: false })
        : await createTestDatabase({
            serverUrl: "postgresql://postgres@127.0.0.1:1/none",
            fallbackToEmbedded: true,
          });
    db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it("deletes detail past detailDays, hourly rollups past hourlyDays and audit events past audit.retentionDays, in batches; keeps the rest", async () => {
    // Ages in days: 1 and 5 are kept everywhere; 20 only in detail; 40 and 45 nowhere but daily.
    await seed(db, [1, 5, 20, 40, 45, 41, 42, 43]);
    const before = await counts(db);
    const deletedByTable = new Map<string, number>();
    const report = await job(db, {
      alone: kind === "embedded",
      onDeleted: (t, n) => deletedByTable.set(t, (deletedByTable.get(t) ?? 0) + n),
    }).runOnce();
    expect(report?.deleted).toEqual({
      usage_event: 5,
      turn: 5,
      plan_limit_sample: 5,
      usage_hourly: 6,
      activity_hourly: 6,
      activity_peak: 6,
      audit_event: 5,
    });
    expect(Object.fromEntries(deletedByTable)).toEqual(report?.deleted);
    const after = await counts(db);
    expect(after).toEqual({
      ...before,
      usage_event: 3,
      // the 500-day-old turn still in progress is kept
      turn: 4,
      plan_limit_sample: 3,
      usage_hourly: 2,
      activity_hourly: 2,
      activity_peak: 2,
      // audit.retentionDays (30 here): the ages 1, 5 and 20 are kept
      audit_event: 3,
    });
    // Daily rollups (kept by triggers) lose nothing: deletes do not propagate.
    expect(after.usage_daily).toBe(before.usage_daily);
    expect(after.activity_daily).toBe(before.activity_daily);
    // A second run has nothing left to do.
    expect((await job(db, { alone: kind === "embedded" }).runOnce())?.deleted).toEqual({
      usage_event: 0,
      turn: 0,
      plan_limit_sample: 0,
      usage_hourly: 0,
      activity_hourly: 0,
      activity_peak: 0,
      audit_event: 0,
    });
  });

  it.runIf(kind === "server")(
    "runs on one instance at a time: while another holds the lock, it skips",
    async () => {
      const other = await db.pool.connect();
      try {
        await other.query("SELECT pg_advisory_lock(hashtext('codex-fleet:retention'))");
        expect(await job(db).runOnce()).toBeNull();
        await other.query("SELECT pg_advisory_unlock(hashtext('codex-fleet:retention'))");
        expect(await job(db).runOnce()).not.toBeNull();
      } finally {
        other.release();
      }
    },
  );
});

describe("retention config", () => {
  afterAll(removeScratchDirs);

  it("defaults to 400 days of detail and of hourly rollups, pruned hourly", async () => {
    const { config } = await loadFile("logLevel: info\n");
    expect(config.retention).toEqual({
      detailDays: 400,
      hourlyDays: 400,
      threadMemoryDays: 7,
      pruneIntervalMs: 3_600_000,
    });
  });

  it("does keep audit events 400 days by default and reads audit.retentionDays", async () => {
    expect((await loadFile("logLevel: info\n")).config.audit).toEqual({ retentionDays: 400 });
    expect((await loadFile("audit: { retentionDays: 30 }\n")).config.audit).toEqual({ retentionDays: 30 });
  });

  it.each([
    ["retention: { detailDays: 0 }", "retention.detailDays"],
    ["retention: { hourlyDays: 1.5 }", "retention.hourlyDays"],
    ["retention: { pruneIntervalMs: 10 }", "retention.pruneIntervalMs"],
    ["retention: { threadMemoryDays: 0 }", "retention.threadMemoryDays"],
    ["retention: { threadMemoryDays: 401 }", "retention.threadMemoryDays"],
    ["retention: { keepForever: true }", "keepForever"],
    ["audit: { retentionDays: 0 }", "audit.retentionDays"],
    ["audit: { retentionDays: 2.5 }", "audit.retentionDays"],
    ["audit: { keepDays: 30 }", "keepDays"],
  ])("refuses %s, naming %s", async (yaml, key) => {
    expect(await errorOf(loadFile(yaml))).toContain(key);
  });
});
