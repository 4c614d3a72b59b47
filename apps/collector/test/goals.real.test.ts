/**
 * Thread goals against the real `codex app-server` 0.169.0 (issue 11): a developer sets a goal
 * with a small token budget (`thread/goal/set`, a developer request the observer never sends);
 * app-server runs goal-continuation turns on its own until the budget is spent and reports
 * `budgetLimited`. The collector records the goal and each change as the developer's own client
 * saw it (API and database), the goalStalled alert fires, a replayed goal changes nothing, the
 * alert resolves when the developer marks the goal complete, and a clear removes it. Every frame
 * the collector sent is allowlisted.
 */

import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient, type Frame } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import { readThread } from "@codex-fleet/db/repositories/threads-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { ThreadDetail } from "@codex-fleet/protocol/api";
import { ALLOWED_CLIENT_METHODS, ALLOWED_CLIENT_NOTIFICATIONS } from "@codex-fleet/protocol/wire";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

const ALERTS_YAML = [
  "alerts:",
  "  repeatIntervalMs: 0",
  "  evaluateIntervalMs: 200",
  "  settleMs: 500",
  "  rules:",
  "    - { id: goal-stalled, kind: goalStalled }",
].join("\n");

let mock: MockModel;
let a: AppServer;
let db: TestDatabase;
let pool: Db;
let dev: DevClient;
let collector: RunningCollector;

type WireGoal = { status: string; objective: string; tokenBudget: number | null; tokensUsed: number };

/** The goal in the last `thread/goal/updated` the developer's client received (ground truth). */
function lastGoalSeenByDev(threadId: string): WireGoal | null {
  const frames = dev.notifications("thread/goal/updated", threadId) as Frame[];
  const last = frames.at(-1);
  return last ? ((last.params as { goal: WireGoal }).goal ?? null) : null;
}

const detail = (id: string) => collector.get<ThreadDetail>(`/api/v1/threads/${id}`).catch(() => null);
const openAlert = async (threadId: string) =>
  (await listOpenAlerts({ pool: pool.pool })).find(
    (x) => x.ruleId === "goal-stalled" && x.subjectId === threadId,
  );

beforeAll(async () => {
  mock = await startMockModel();
  [a, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "goals-alice" }),
    createTestDatabase(),
  ]);
  pool = createDb({ url: db.url, poolMax: 2 });
  // The developer connects first (the first client brands the server, facts: Surprises).
  dev = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "payments", url: a.url, token: a.token }],
    extraYaml: ALERTS_YAML,
  });
  await waitUntil("alice open", () => collector.fleet.targets.get("alice")?.status.state === "open");
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(a.stderr().slice(-2000));
    console.error(collector.logs.slice(-40).join(""));
  }
});

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await a?.dispose();
  await pool?.close().catch(() => {});
  await mock?.close();
  await db?.drop();
}, 30_000);

describe("thread goals (real app-server 0.169.0)", () => {
  it("records a goal through budgetLimited, fires goalStalled, ignores a replay, resolves it on complete and drops the goal on clear", async () => {
    const threadId = await dev.startThread({ cwd: a.cwd });
    // A first turn persists the rollout (goal/set and resume need it, facts §2).
    await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "hello"), 60_000);

    // Each stand-in reply spends 420 goal tokens (400 uncached input + 20 output): continuation
    // runs three turns by itself and stops past the budget.
    const set = await dev.request<{ goal: WireGoal }>("thread/goal/set", {
      threadId,
      objective: "write a haiku about exact token counts",
      tokenBudget: 1000,
      origin: "user",
    });
    expect(set.goal).toMatchObject({ status: "active", tokenBudget: 1000, tokensUsed: 0 });

    await waitUntil(
      "the developer sees budgetLimited",
      () => lastGoalSeenByDev(threadId)?.status === "budgetLimited",
      60_000,
    );
    const limited = lastGoalSeenByDev(threadId) as WireGoal;
    expect(limited.tokensUsed).toBeGreaterThan(1000);

    // The collector shows the goal exactly as the developer's client last saw it.
    await waitUntil(
      "collector shows budgetLimited",
      async () => (await detail(threadId))?.goal?.status === "budgetLimited",
      20_000,
    );
    const shown = (await detail(threadId))?.goal;
    expect(shown).toMatchObject({
      status: "budgetLimited",
      tokenBudget: 1000,
      tokensUsed: limited.tokensUsed,
    });
    // The objective is the developer's instruction (a prompt): never returned, never stored.
    expect(JSON.stringify(await detail(threadId))).not.toContain("haiku");
    const list = await collector.get<{ id: string; goal?: { status: string } | null }[]>("/api/v1/threads");
    expect(list.find((t) => t.id === threadId)?.goal?.status).toBe("budgetLimited");
    await waitUntil(
      "stored goal",
      async () => (await readThread({ pool: pool.pool, id: threadId }))?.goal?.status === "budgetLimited",
      10_000,
    );
    expect((await readThread({ pool: pool.pool, id: threadId }))?.goal).toMatchObject({
      status: "budgetLimited",
      tokenBudget: 1000,
      tokensUsed: limited.tokensUsed,
    });

    // The alert fires (forMs 0) with the figures in its details.
    await waitUntil(
      "goal-stalled firing",
      async () => (await openAlert(threadId))?.state === "firing",
      20_000,
    );
    expect((await openAlert(threadId))?.details).toMatchObject({
      goalStatus: "budgetLimited",
      tokensUsed: limited.tokensUsed,
      tokenBudget: 1000,
    });

    // Pausing a budgetLimited goal is ignored by 0.169.0 (measured): the same goal is sent again
    // (only its updatedAt moves), which must restart neither the status clock nor the alert.
    const firing = await openAlert(threadId);
    const before = dev.notifications("thread/goal/updated", threadId).length;
    const paused = await dev.request<{ goal: WireGoal }>("thread/goal/set", {
      threadId,
      status: "paused",
      origin: "user",
    });
    expect(paused.goal.status).toBe("budgetLimited");
    await waitUntil(
      "the replay",
      () => dev.notifications("thread/goal/updated", threadId).length > before,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect((await detail(threadId))?.goal).toEqual({ ...shown, updatedAt: expect.any(String) });
    expect((await openAlert(threadId))?.id).toBe(firing?.id);

    // The developer marks it complete: the status changes, the alert resolves.
    await dev.request("thread/goal/set", { threadId, status: "complete", origin: "user" });
    await waitUntil(
      "collector shows complete",
      async () => (await detail(threadId))?.goal?.status === "complete",
      20_000,
    );
    await waitUntil("goal-stalled resolved", async () => (await openAlert(threadId)) === undefined, 20_000);

    // The developer clears it: no goal, in the API and the database.
    await dev.request("thread/goal/clear", { threadId, origin: "user" });
    await waitUntil("collector shows no goal", async () => (await detail(threadId))?.goal === null, 20_000);
    await waitUntil(
      "stored goal cleared",
      async () => (await readThread({ pool: pool.pool, id: threadId }))?.goal === null,
      10_000,
    );

    // The observer only ever sent allowlisted frames: never a goal request.
    const sent = collector.sent.get("alice") ?? [];
    expect(sent.length).toBeGreaterThan(0);
    for (const f of sent) {
      expect(f.result === undefined && f.error === undefined).toBe(true);
      const method = String(f.method);
      expect(
        f.id === undefined ? ALLOWED_CLIENT_NOTIFICATIONS.has(method) : ALLOWED_CLIENT_METHODS.has(method),
      ).toBe(true);
      expect(method.includes("goal")).toBe(false);
    }
  }, 150_000);
});
