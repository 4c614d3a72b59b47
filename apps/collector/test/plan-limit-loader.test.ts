/**
 * The fleet's loader of stored plan limits against a real Postgres (issue 14, issue 13 goal 5):
 * targets that ask together are loaded with one pair of queries, each gets its own states and its
 * samples of the forecast lookback (none for a target with nothing stored), those asking while a
 * load is in flight go out in the next one, and a failed load fails every target of its batch
 * (each tracker logs it and merges from what it knows) without stopping the next.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import { savePlanLimit } from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { FORECAST_LOOKBACK_MS, type PlanLimitState } from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PlanLimitLoader } from "../src/fleet/plan-limit-loader.ts";

let testDb: TestDatabase;
let db: Db;

const T0 = 1_800_000_000_000;
const state = (limitId: string, usedPercent: number): PlanLimitState => ({
  limitId,
  limitName: null,
  planType: "plus",
  primary: { usedPercent, windowDurationMins: 300, resetsAtMs: T0 + 3_600_000, observedAtMs: T0 },
  secondary: null,
  credits: null,
  rateLimitReachedType: null,
  rateLimitReachedAtMs: null,
  spendControlReached: null,
  observedAtMs: T0,
});
const sample = (limitId: string, atMs: number, usedPercent: number) => ({
  limitId,
  window: "primary" as const,
  atMs,
  usedPercent,
  resetsAtMs: T0 + 3_600_000,
});

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await savePlanLimit({
    pool: db.pool,
    targetId: "alice",
    state: state("codex", 20),
    samples: [sample("codex", T0 - FORECAST_LOOKBACK_MS - 1, 5), sample("codex", T0 - 60_000, 20)],
  });
  await savePlanLimit({ pool: db.pool, targetId: "bob", state: state("codex", 70) });
  await savePlanLimit({ pool: db.pool, targetId: "bob", state: state("codex_other", 3) });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

/** The real pool, counting its queries and failing the next `fail` of them. */
function counted(fail = 0) {
  const seen = { queries: 0, fail };
  const pool = {
    query: (...args: unknown[]) => {
      seen.queries++;
      if (seen.fail > 0) {
        seen.fail--;
        return Promise.reject(new Error("Connection terminated unexpectedly"));
      }
      return (db.pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  };
  return { pool: pool as unknown as Db["pool"], seen };
}

describe("PlanLimitLoader", () => {
  it("does load the targets asking together with one pair of queries, each its own", async () => {
    const { pool, seen } = counted();
    const loader = new PlanLimitLoader({ pool, now: () => T0 });
    const [alice, bob, carol, aliceAgain] = await Promise.all(
      ["alice", "bob", "carol", "alice"].map((t) => loader.load(t)),
    );
    expect(seen.queries).toBe(2);
    expect(alice?.states.map((s) => [s.limitId, s.primary?.usedPercent])).toEqual([["codex", 20]]);
    expect(alice?.samples).toEqual([
      {
        limitId: "codex",
        window: "primary",
        sample: { atMs: T0 - 60_000, usedPercent: 20, resetsAtMs: T0 + 3_600_000 },
      },
    ]);
    expect(aliceAgain).toEqual(alice);
    expect(bob?.states.map((s) => [s.limitId, s.primary?.usedPercent])).toEqual([
      ["codex", 70],
      ["codex_other", 3],
    ]);
    expect(bob?.samples).toEqual([]);
    expect(carol).toEqual({ states: [], samples: [] });
  });

  it("does send those asking during a load in the next one", async () => {
    const { pool, seen } = counted();
    const loader = new PlanLimitLoader({ pool, now: () => T0 });
    const first = loader.load("alice");
    await new Promise((resolve) => setImmediate(resolve));
    const later = ["bob", "carol"].map((t) => loader.load(t));
    expect((await first).states).toHaveLength(1);
    const [bob, carol] = await Promise.all(later);
    expect(seen.queries).toBe(4);
    expect(bob?.states).toHaveLength(2);
    expect(carol?.states).toEqual([]);
  });

  it("does fail every target of a failed load, and load the next batch", async () => {
    const { pool } = counted(1);
    const loader = new PlanLimitLoader({ pool, now: () => T0 });
    const failed = await Promise.allSettled(["alice", "bob"].map((t) => loader.load(t)));
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((await loader.load("bob")).states).toHaveLength(2);
  });
});
