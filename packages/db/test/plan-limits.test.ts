/**
 * The plan-limit tables on a real database: a state replaces the last one but never a newer one
 * (two instances during a handover), samples are kept once per instant and read back in order,
 * filters by team and target.
 */
import { mergePlanLimit, type PlanLimitReport } from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import {
  listPlanLimitSources,
  listPlanLimits,
  listPlanSamples,
  planLimitsVersion,
  savePlanLimit,
  savePlanLimitSource,
  savePlanLimitSources,
  savePlanLimits,
} from "../src/repositories/plan-limits-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await db.pool.query(
    `INSERT INTO target (id, team, url) VALUES ('alice', 'core', 'ws://a'), ('bob', 'web', 'ws://b')`,
  );
}, 120_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const report = (usedPercent: number, resetsAtMs: number): PlanLimitReport => ({
  limitId: "codex",
  limitName: null,
  planType: "plus",
  primary: { usedPercent, windowDurationMins: 300, resetsAtMs },
  secondary: null,
  credits: { hasCredits: true, unlimited: false, balance: "12.5" },
  rateLimitReachedType: null,
  spendControlReached: null,
  source: "read",
});

describe("plan-limits repository", () => {
  const T0 = Date.UTC(2026, 11, 6, 10);
  const RESET = T0 + 3 * 3_600_000;

  it("stores the newest state and its samples; an older state never replaces a newer one", async () => {
    const newer = mergePlanLimit(undefined, report(50, RESET), T0 + 60_000);
    const older = mergePlanLimit(undefined, report(40, RESET), T0);
    const sample = (atMs: number, usedPercent: number) => ({
      limitId: "codex",
      window: "primary" as const,
      atMs,
      usedPercent,
      resetsAtMs: RESET,
    });
    await savePlanLimit({
      pool: db.pool,
      targetId: "alice",
      state: newer,
      samples: [sample(T0 + 60_000, 50)],
    });
    await savePlanLimit({
      pool: db.pool,
      targetId: "alice",
      state: older,
      samples: [sample(T0, 40), sample(T0 + 60_000, 99)],
    });
    await savePlanLimit({ pool: db.pool, targetId: "bob", state: older });

    const alice = await listPlanLimits({ pool: db.pool, target: "alice" });
    expect(alice).toEqual([{ target: "alice", team: "core", state: newer }]);
    expect((await listPlanLimits({ pool: db.pool, team: "web" })).map((r) => r.target)).toEqual(["bob"]);
    expect(await listPlanLimits({ pool: db.pool })).toHaveLength(2);
    const some = await listPlanLimits({ pool: db.pool, targetIds: ["bob", "carol"] });
    expect(some.map((r) => r.target)).toEqual(["bob"]);
    expect(await listPlanLimits({ pool: db.pool, targetIds: [] })).toEqual([]);

    const samples = await listPlanSamples({
      pool: db.pool,
      fromMs: T0 - 1,
      toMs: T0 + 3_600_000,
      targetIds: ["alice"],
    });
    expect(samples.map((s) => s.sample)).toEqual([
      { atMs: T0, usedPercent: 40, resetsAtMs: RESET },
      { atMs: T0 + 60_000, usedPercent: 50, resetsAtMs: RESET },
    ]);
    expect(await listPlanSamples({ pool: db.pool, fromMs: T0, toMs: T0, window: "secondary" })).toEqual([]);
  });

  it("tells by its version whether any state row was written since it was read", async () => {
    const v0 = await planLimitsVersion({ pool: db.pool });
    expect(await planLimitsVersion({ pool: db.pool })).toBe(v0);
    const at = T0 + 10 * 3_600_000;
    const state = (pct: number, atMs: number) =>
      mergePlanLimit(undefined, { ...report(pct, RESET), limitId: "v" }, atMs);
    await savePlanLimit({ pool: db.pool, targetId: "bob", state: state(10, at), samples: [] });
    const v1 = await planLimitsVersion({ pool: db.pool });
    expect(v1).not.toBe(v0);
    // Refused by the observed_at condition: nothing written, same version.
    await savePlanLimit({ pool: db.pool, targetId: "bob", state: state(5, at - 1), samples: [] });
    expect(await planLimitsVersion({ pool: db.pool })).toBe(v1);
    // The same instant with other content is a write (the condition takes <=).
    await savePlanLimit({ pool: db.pool, targetId: "bob", state: state(11, at), samples: [] });
    const v2 = await planLimitsVersion({ pool: db.pool });
    expect(v2).not.toBe(v1);
    await db.pool.query(`DELETE FROM plan_limit WHERE target_id = 'bob' AND limit_id = 'v'`);
    expect(await planLimitsVersion({ pool: db.pool })).not.toBe(v2);
  });

  it("keeps the newest read outcome per target", async () => {
    const reason = "codex account authentication required to read rate limits";
    await savePlanLimitSource({
      pool: db.pool,
      targetId: "bob",
      status: "unavailable",
      reason,
      atMs: T0 + 1_000,
    });
    await savePlanLimitSource({ pool: db.pool, targetId: "bob", status: "ok", reason: null, atMs: T0 });
    await savePlanLimitSource({ pool: db.pool, targetId: "alice", status: "ok", reason: null, atMs: T0 });
    expect(await listPlanLimitSources({ pool: db.pool, team: "web" })).toEqual([
      { target: "bob", team: "web", status: "unavailable", reason, checkedAtMs: T0 + 1_000 },
    ]);
    expect((await listPlanLimitSources({ pool: db.pool })).map((r) => r.target)).toEqual(["alice", "bob"]);
  });

  it("saves many targets' states, samples and outcomes in one call, under the same conditions", async () => {
    await db.pool.query(
      `INSERT INTO target (id, team, url) VALUES ('m1', 'many', 'ws://m1'), ('m2', 'many', 'ws://m2')`,
    );
    const at = (ms: number, used: number) => mergePlanLimit(undefined, report(used, RESET), ms);
    const sample = (atMs: number, usedPercent: number) => ({
      limitId: "codex",
      window: "primary" as const,
      atMs,
      usedPercent,
      resetsAtMs: RESET,
    });
    await savePlanLimit({ pool: db.pool, targetId: "m2", state: at(T0 + 9_000, 90) });
    await savePlanLimits({
      pool: db.pool,
      entries: [
        { targetId: "m1", state: at(T0 + 1_000, 10), samples: [sample(T0 + 1_000, 10)] },
        // Two states of one limit: the newer wins, whatever the order.
        { targetId: "m1", state: at(T0 + 2_000, 20), samples: [sample(T0 + 2_000, 20)] },
        // Older than the stored one: the stored one stays; its sample is still new.
        { targetId: "m2", state: at(T0 + 5_000, 50), samples: [sample(T0 + 5_000, 50)] },
      ],
    });
    await savePlanLimits({
      pool: db.pool,
      entries: [{ targetId: "m1", state: at(T0 + 1_500, 15), samples: [sample(T0 + 1_000, 99)] }],
    });
    const rows = await listPlanLimits({ pool: db.pool, team: "many" });
    expect(rows.map((r) => [r.target, r.state.primary?.usedPercent, r.state.observedAtMs])).toEqual([
      ["m1", 20, T0 + 2_000],
      ["m2", 90, T0 + 9_000],
    ]);
    expect(rows[0]?.state).toEqual(at(T0 + 2_000, 20));
    const samples = await listPlanSamples({
      pool: db.pool,
      fromMs: T0,
      toMs: T0 + 10_000,
      targetIds: ["m1", "m2"],
    });
    expect(samples.map((s) => [s.target, s.sample.atMs, s.sample.usedPercent])).toEqual([
      ["m1", T0 + 1_000, 10],
      ["m1", T0 + 2_000, 20],
      ["m2", T0 + 5_000, 50],
    ]);

    await savePlanLimitSources({
      pool: db.pool,
      entries: [
        { targetId: "m1", status: "error", reason: "boom", atMs: T0 + 2_000 },
        { targetId: "m1", status: "ok", reason: null, atMs: T0 + 1_000 },
        { targetId: "m2", status: "ok", reason: null, atMs: T0 + 1_000 },
      ],
    });
    await savePlanLimitSources({
      pool: db.pool,
      entries: [{ targetId: "m2", status: "unavailable", reason: "old", atMs: T0 }],
    });
    expect(
      (await listPlanLimitSources({ pool: db.pool, team: "many" })).map((r) => [
        r.target,
        r.status,
        r.checkedAtMs,
      ]),
    ).toEqual([
      ["m1", "error", T0 + 2_000],
      ["m2", "ok", T0 + 1_000],
    ]);
  });
});
