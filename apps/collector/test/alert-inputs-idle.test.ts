/**
 * What the alert engine reads every few seconds, at rest (issue 13 goal 5: an idle collector at
 * 10,000 targets). The plan limits: a member equal to the previous read's is that very object, and
 * the states are read again only once a state row was written (or a minute went by). The targets:
 * each target's snapshot is kept while it is unchanged, and given to the rules by id.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import { savePlanLimit } from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { mergePlanLimit, type PlanLimitState } from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLAN_REREAD_MS, SnapshotInputs } from "../src/alerts/inputs.ts";
import { effectiveRules } from "../src/alerts/rules.ts";
import { loadPlanMembers } from "../src/budgets/load.ts";
import { createLogger } from "../src/logger.ts";
import { FakeFleet } from "./support/alert-fixtures.ts";

const T0 = Date.UTC(2026, 11, 7, 12);
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

function state(usedPercent: number, atMs: number): PlanLimitState {
  return mergePlanLimit(
    undefined,
    {
      limitId: "codex",
      limitName: null,
      planType: "pro",
      primary: { usedPercent, windowDurationMins: 300, resetsAtMs: T0 + 3_600_000 },
      secondary: null,
      credits: null,
      rateLimitReachedType: null,
      spendControlReached: null,
      source: "updated",
    },
    atMs,
  );
}

async function save(target: string, usedPercent: number, atMs: number) {
  await savePlanLimit({
    pool: db.pool,
    targetId: target,
    state: state(usedPercent, atMs),
    samples: [{ limitId: "codex", window: "primary", atMs, usedPercent, resetsAtMs: T0 + 3_600_000 }],
  });
}

describe("loadPlanMembers re-read", () => {
  it("does keep the previous member of an unchanged limit, and gives a new one for a change", async () => {
    await save("alice", 10, T0 - 60_000);
    await save("bob", 20, T0 - 60_000);
    const read = (previous: Awaited<ReturnType<typeof loadPlanMembers>> | null) =>
      loadPlanMembers({ pool: db.pool, nowMs: T0, withSamples: true, previous });
    const first = await read(null);
    expect(first.map((m) => [m.target, m.state.primary?.usedPercent, m.samples.primary.length])).toEqual([
      ["alice", 10, 1],
      ["bob", 20, 1],
    ]);
    const second = await read(first);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).toBe(first[1]);
    // Without the previous read, equal rows are new objects (what the engine held before).
    expect((await read(null))[0]).not.toBe(first[0]);

    await save("bob", 25, T0 - 30_000);
    const third = await read(second);
    expect(third[0]).toBe(first[0]);
    expect(third[1]).not.toBe(first[1]);
    expect(third[1]?.state.primary?.usedPercent).toBe(25);
    expect(third[1]?.samples.primary.map((s) => s.usedPercent)).toEqual([20, 25]);
  });
});

describe("the alert engine's plan limits", () => {
  it("are read again only once a state row was written, or a minute went by", async () => {
    const fake = new FakeFleet();
    fake.target("alice", "payments", { sinceMs: T0 }, T0);
    let reads = 0;
    const pool = new Proxy(db.pool, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (key !== "query") return typeof value === "function" ? value.bind(target) : value;
        return (text: unknown, ...rest: unknown[]) => {
          if (typeof text === "string" && text.includes("FROM plan_limit p")) reads++;
          return (target.query as (...a: unknown[]) => unknown)(text, ...rest);
        };
      },
    });
    const inputs = new SnapshotInputs({
      fleet: fake.fleet,
      pool,
      // The shipped rules: limitReached reads the plan limits.
      rules: effectiveRules({ rules: [], repeatIntervalMs: 3_600_000 }),
      settleMs: 0,
      log: createLogger({ level: "silent" }),
    });
    const pct = async (atMs: number) =>
      (await inputs.snapshot(atMs)).plans
        ?.filter((m) => m.target === "alice")
        .map((m) => m.state.primary?.usedPercent);
    const t = T0 + 3_600_000;
    const before = await pct(t);
    expect(reads).toBe(1);
    expect(await pct(t + 5_000)).toEqual(before);
    expect(reads).toBe(1);
    await save("alice", 77, t + 6_000);
    expect(await pct(t + 10_000)).toEqual([77]);
    expect(reads).toBe(2);
    await pct(t + 15_000);
    expect(reads).toBe(2);
    await pct(t + 10_000 + PLAN_REREAD_MS);
    expect(reads).toBe(3);
  });
});

describe("the alert engine's targets", () => {
  it("are the same snapshots while unchanged, new ones when changed, and gone when removed", async () => {
    const fake = new FakeFleet();
    fake.target("alice", "payments", { sinceMs: T0 }, T0);
    fake.target("bob", "web", { sinceMs: T0 }, T0);
    const inputs = new SnapshotInputs({
      fleet: fake.fleet,
      pool: db.pool,
      rules: effectiveRules({ rules: [], repeatIntervalMs: 3_600_000 }),
      settleMs: 0,
      log: createLogger({ level: "silent" }),
    });
    const first = await inputs.snapshot(T0 + 1000);
    const second = await inputs.snapshot(T0 + 6000);
    expect(second.targets).toEqual(first.targets);
    expect(second.targets[0]).toBe(first.targets[0]);
    expect(second.targets[1]).toBe(first.targets[1]);
    expect(second.targetById?.get("bob")).toBe(second.targets[1]);

    fake.target("bob", "web", { state: "backoff", reason: "dropped", sinceMs: T0 + 7000 });
    const third = await inputs.snapshot(T0 + 11_000);
    expect(third.targets[0]).toBe(first.targets[0]);
    expect(third.targets[1]).not.toBe(first.targets[1]);
    expect(third.targets[1]).toMatchObject({ id: "bob", state: "backoff", down: { cls: "unreachable" } });
    // Still down, nothing new: the same snapshot (its down state is a new object at each look).
    expect((await inputs.snapshot(T0 + 13_000)).targets[1]).toBe(third.targets[1]);

    fake.targets.delete("bob");
    const fourth = await inputs.snapshot(T0 + 16_000);
    expect(fourth.targets.map((t) => t.id)).toEqual(["alice"]);
    expect([...(fourth.targetById?.keys() ?? [])]).toEqual(["alice"]);
  });
});
