/**
 * Plan limits from a hostile app-server (issue 14; a scripted peer, since the real one never
 * misbehaves): a read answering 100 limits with huge strings and wrong types, and a flood of
 * `account/rateLimits/updated` inventing new limit ids with absurd figures. The collector keeps at
 * most 16 limits for that target (one warning), every stored string within its bound, every
 * percentage in [0, 1000], refuses nothing in Postgres and stays connected; a second, well-behaved
 * peer's limits are stored untouched.
 */
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listPlanLimitSources, listPlanLimits } from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { WIRE_LIMITS } from "@codex-fleet/protocol/bounds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_LIMITS_PER_TARGET } from "../src/fleet/plan-limits.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";

/** Long enough to need cutting everywhere; the whole read (100 limits) stays under maxPayloadBytes. */
const HUGE = "x".repeat(20_000);
const snapshot = (limitId: unknown, over: Record<string, unknown> = {}) => ({
  limitId,
  limitName: HUGE,
  normalModelSlug: HUGE,
  primary: { usedPercent: 1e308, windowDurationMins: -1, resetsAt: 1e308 },
  secondary: { usedPercent: "87", windowDurationMins: 10080, resetsAt: 1_900_000_000 },
  credits: { hasCredits: true, unlimited: false, balance: HUGE },
  individualLimit: { limit: HUGE },
  spendControlReached: "no",
  planType: HUGE,
  rateLimitReachedType: { nested: true },
  ...over,
});

let db: TestDatabase;
let pool: Db;
let evil: ScriptedPeer;
let good: ScriptedPeer;
let collector: RunningCollector;

beforeAll(async () => {
  [db, evil, good] = await Promise.all([
    createTestDatabase(),
    startScriptedPeer({
      answer: (method) =>
        method === "account/rateLimits/read"
          ? {
              result: {
                rateLimits: snapshot(HUGE),
                rateLimitsByLimitId: Object.fromEntries(
                  Array.from({ length: 100 }, (_, i) => [`read-${i}`, snapshot(null)]),
                ),
              },
            }
          : undefined,
      script: async (c) => {
        await c.flood(300, (i) =>
          JSON.stringify({
            method: "account/rateLimits/updated",
            params: { rateLimits: snapshot(`pushed-${i}`, { primary: { usedPercent: i, resetsAt: null } }) },
          }),
        );
      },
    }),
    startScriptedPeer({
      answer: (method) =>
        method === "account/rateLimits/read"
          ? {
              result: {
                rateLimits: {
                  limitId: "codex",
                  planType: "pro",
                  primary: { usedPercent: 30, windowDurationMins: 300, resetsAt: 1_900_000_000 },
                  secondary: null,
                  credits: null,
                },
              },
            }
          : undefined,
    }),
  ]);
  pool = createDb({ url: db.url, poolMax: 2 });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [
      { name: "evil", url: evil.url, token: null },
      { name: "good", url: good.url, token: null },
    ],
  });
}, 60_000);

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await Promise.all([evil?.close(), good?.close()]);
  await pool?.close().catch(() => {});
  await db?.drop();
}, 30_000);

describe("plan limits from a hostile app-server", () => {
  it("keeps at most 16 limits, bounded and clamped, warns once, and leaves the other target alone", async () => {
    await waitUntil("the flood is in", async () => {
      await collector.fleet.flush();
      return (
        (evil.connections[0]?.received.length ?? 0) > 0 &&
        (await listPlanLimits({ pool: pool.pool, target: "evil" })).length >= MAX_LIMITS_PER_TARGET
      );
    });
    // Everything the peer sent has been handled once the next read round trip is answered. The
    // flood's 16 limits can be stored (one batch) before evil's own read is answered: wait for
    // its outcome too.
    await waitUntil(
      "good's read and evil's read outcome stored",
      async () =>
        (await listPlanLimits({ pool: pool.pool, target: "good" })).length === 1 &&
        (await listPlanLimitSources({ pool: pool.pool, target: "evil" })).length === 1,
    );
    await collector.fleet.flush();
    const rows = await listPlanLimits({ pool: pool.pool, target: "evil" });
    expect(rows).toHaveLength(MAX_LIMITS_PER_TARGET);
    for (const { state } of rows) {
      expect(state.limitId.length).toBeLessThanOrEqual(WIRE_LIMITS.limitId);
      expect(state.limitName?.length ?? 0).toBeLessThanOrEqual(WIRE_LIMITS.limitName);
      expect(state.planType?.length ?? 0).toBeLessThanOrEqual(WIRE_LIMITS.kind);
      expect(state.credits?.balance?.length ?? 0).toBeLessThanOrEqual(WIRE_LIMITS.balance);
      expect(state.rateLimitReachedType).toBeNull();
      expect(state.spendControlReached).toBeNull();
      for (const w of [state.primary, state.secondary])
        if (w) {
          expect(w.usedPercent).toBeGreaterThanOrEqual(0);
          expect(w.usedPercent).toBeLessThanOrEqual(1000);
        }
    }
    const warnings = collector.logs.filter(
      (l) => l.includes('"target":"evil"') && l.includes("plan limits: ignoring new limit ids"),
    );
    expect(warnings).toHaveLength(1);
    expect(collector.fleet.targets.get("evil")?.status.state).toBe("open");
    expect(collector.fleet.planLimitWriter.backlog).toBe(0);
    expect((await listPlanLimitSources({ pool: pool.pool, target: "evil" }))[0]?.status).toBe("ok");
    const [goodRow] = await listPlanLimits({ pool: pool.pool, target: "good" });
    expect(goodRow?.state).toMatchObject({
      planType: "pro",
      primary: { usedPercent: 30, resetsAtMs: 1_900_000_000_000 },
    });
    expect(evil.responsesFromClient()).toEqual([]);
  }, 30_000);
});
