/**
 * The plan-limit write queue against a real Postgres (issue 14): writes leave the caller at once,
 * the newest state per limit wins, samples accumulate, a write the database cannot take right now
 * is retried (nothing lost), and a row the database refuses for its content is dropped alone.
 * The failures come from a wrapper around the real pool: Postgres cannot be made to drop a
 * connection on cue here.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import {
  listPlanLimitSources,
  listPlanLimits,
  listPlanSamples,
} from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { PlanLimitState } from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlanLimitWriter } from "../src/fleet/plan-limit-writer.ts";

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

const T0 = 1_800_000_000_000;
const state = (limitId: string, observedAtMs: number, usedPercent: number): PlanLimitState => ({
  limitId,
  limitName: null,
  planType: "plus",
  primary: { usedPercent, windowDurationMins: 300, resetsAtMs: T0 + 3_600_000, observedAtMs },
  secondary: null,
  credits: null,
  rateLimitReachedType: null,
  rateLimitReachedAtMs: null,
  spendControlReached: null,
  observedAtMs,
});
const sample = (limitId: string, atMs: number, usedPercent: number) => ({
  limitId,
  window: "primary" as const,
  atMs,
  usedPercent,
  resetsAtMs: T0 + 3_600_000,
});

/**
 * The real pool, failing its next `failures` queries like a dropped connection (no SQLSTATE), or
 * refusing every query whose parameters contain `refuse` (as the database refuses a row for its
 * content); `queries` counts the statements sent.
 */
function flaky(failures: { n: number; error?: () => Error; refuse?: string; queries?: number }) {
  return {
    query: (...args: unknown[]) => {
      failures.queries = (failures.queries ?? 0) + 1;
      if (failures.refuse !== undefined && JSON.stringify(args[1]).includes(failures.refuse))
        return Promise.reject(Object.assign(new Error("value out of range"), { code: "22003" }));
      if (failures.n > 0) {
        failures.n--;
        return Promise.reject(
          failures.error ? failures.error() : new Error("Connection terminated unexpectedly"),
        );
      }
      return (db.pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  } as unknown as Db["pool"];
}

describe("PlanLimitWriter", () => {
  it("does retry a failed write until the database takes it, losing no sample", async () => {
    const failures = { n: 3 };
    const errors: number[] = [];
    const w = new PlanLimitWriter({ pool: flaky(failures), onError: (_e, attempt) => errors.push(attempt) });
    w.saveLimit("alice", state("codex", T0, 40), [sample("codex", T0, 40)]);
    w.saveLimit("alice", state("codex", T0 + 1000, 45), [sample("codex", T0 + 1000, 45)]);
    w.saveSource({ targetId: "alice", status: "ok", reason: null, atMs: T0 + 1000 });
    await expect.poll(() => w.backlog, { timeout: 20_000, interval: 50 }).toBe(0);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    const [row] = await listPlanLimits({ pool: db.pool, target: "alice" });
    expect(row?.state.primary?.usedPercent).toBe(45);
    const samples = await listPlanSamples({ pool: db.pool, targetIds: ["alice"], fromMs: 0, toMs: T0 * 2 });
    expect(samples.map((s) => s.sample.usedPercent)).toEqual([40, 45]);
    expect((await listPlanLimitSources({ pool: db.pool, target: "alice" }))[0]?.status).toBe("ok");
    await w.close();
  });

  it("does keep the newest state when an older one is queued after it", async () => {
    const w = new PlanLimitWriter({ pool: db.pool });
    w.saveLimit("bob", state("codex", T0 + 5000, 70), []);
    w.saveLimit("bob", state("codex", T0 + 1000, 10), []);
    await w.flush();
    const [row] = await listPlanLimits({ pool: db.pool, target: "bob" });
    expect(row?.state.primary?.usedPercent).toBe(70);
  });

  it("does drop an entry the database refuses for its content and write the rest", async () => {
    const dropped: string[] = [];
    const w = new PlanLimitWriter({
      pool: flaky({ n: 0, refuse: "carol-refused" }),
      onDropped: (what) => dropped.push(what),
    });
    w.saveLimit("carol", state("carol-refused", T0, 1), []);
    w.saveLimit("carol", state("second", T0, 2), []);
    w.saveLimit("dave", state("codex", T0, 3), [sample("codex", T0, 3)]);
    w.saveSource({ targetId: "dave", status: "ok", reason: null, atMs: T0 });
    await w.flush();
    expect(dropped).toEqual(["plan limit carol/carol-refused"]);
    const rows = await listPlanLimits({ pool: db.pool, target: "carol" });
    expect(rows.map((r) => r.state.limitId)).toEqual(["second"]);
    expect((await listPlanLimits({ pool: db.pool, target: "dave" })).map((r) => r.state.limitId)).toEqual([
      "codex",
    ]);
    expect(
      await listPlanSamples({ pool: db.pool, targetIds: ["dave"], fromMs: 0, toMs: T0 * 2 }),
    ).toHaveLength(1);
    expect(w.backlog).toBe(0);
  });

  it("writes the states of many targets opening together in a few statements, not two per target", async () => {
    const counter = { n: 0, queries: 0 };
    const w = new PlanLimitWriter({ pool: flaky(counter) });
    const targets = Array.from({ length: 2_500 }, (_, i) => `many-${i}`);
    for (const [i, t] of targets.entries()) {
      w.saveLimit(t, state("codex", T0 + i, i % 100), [sample("codex", T0 + i, i % 100)]);
      w.saveSource({ targetId: t, status: "ok", reason: null, atMs: T0 + i });
    }
    await w.flush();
    expect(counter.queries).toBeLessThanOrEqual(10);
    const rows = await listPlanLimits({ pool: db.pool, targetIds: targets });
    expect(rows).toHaveLength(targets.length);
    expect(rows.find((r) => r.target === "many-2499")?.state).toEqual(state("codex", T0 + 2499, 99));
    const samples = await listPlanSamples({ pool: db.pool, targetIds: targets, fromMs: 0, toMs: T0 * 2 });
    expect(samples).toHaveLength(targets.length);
    const sources = await listPlanLimitSources({ pool: db.pool });
    expect(sources.filter((r) => r.target.startsWith("many-"))).toHaveLength(targets.length);
  });
});
