/**
 * Plan limits against the real `codex app-server` 0.169.0 (issue 14), both routes of facts "Rate
 * limits and credits":
 * - alice has a (fake, offline) ChatGPT login: `account/rateLimits/read` answers from the model
 *   stand-in's `/backend-api/wham/usage`, at connect and again at each poll;
 * - bob logs in with an API key: the read is "not available" (-32600), while the windows his
 *   app-server reports from the stand-in's response headers (`x-codex-*`) arrive sparse with each
 *   model response, and a 429 "usage limit" fills `rateLimitReachedType`;
 * - carol runs the oldest supported codex (0.150.0), whose read takes no parameters: unavailable,
 *   saying why, while her header updates still arrive.
 * The collector stores the merged states, samples and read outcomes, announces `limits` on the
 * live feed, keeps counting usage, keeps merging into the stored state after a restart, and sends
 * only allowlisted requests (the read with exactly `{excludeResetCreditDetails: true}`).
 */

import { type AppServer, CODEX_VERSION_FLOOR, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, rateLimitHeaders, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import {
  listPlanLimitSources,
  listPlanLimits,
  listPlanSamples,
} from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { PlanLimitState } from "@codex-fleet/protocol/limits";
import { type LiveMessage, parseLiveMessage } from "@codex-fleet/protocol/live";
import { ALLOWED_CLIENT_METHODS, ALLOWED_CLIENT_NOTIFICATIONS } from "@codex-fleet/protocol/wire";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { READ_TAKES_NO_PARAMS } from "../src/fleet/plan-limit-tracker.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";

/** The shortest poll the config allows: the test waits for one. */
const POLL_MS = 10_000;
const NOW_S = Math.floor(Date.now() / 1000);
const PRIMARY_RESET_S = NOW_S + 3 * 3600;
const SECONDARY_RESET_S = NOW_S + 5 * 86_400;

/** The backend's usage answer (`RateLimitStatusPayload`: integer percents, seconds). */
function whamUsage(primaryPct: number, secondaryPct: number, balance: string) {
  const window = (pct: number, seconds: number, resetAt: number) => ({
    used_percent: pct,
    limit_window_seconds: seconds,
    reset_after_seconds: resetAt - NOW_S,
    reset_at: resetAt,
  });
  return {
    plan_type: "plus",
    rate_limit: {
      allowed: true,
      limit_reached: false,
      primary_window: window(primaryPct, 18_000, PRIMARY_RESET_S),
      secondary_window: window(secondaryPct, 604_800, SECONDARY_RESET_S),
    },
    credits: { has_credits: true, unlimited: false, balance },
  };
}

let mock: MockModel;
let alice: AppServer;
let bob: AppServer;
let carol: AppServer;
let db: TestDatabase;
let pool: Db;
let devAlice: DevClient;
let devBob: DevClient;
let devCarol: DevClient;
let collector: RunningCollector;
let live: WebSocket;
const liveMessages: LiveMessage[] = [];
let rateLimitEvents = 0;

async function stateOf(target: string, limitId = "codex"): Promise<PlanLimitState | null> {
  const rows = await listPlanLimits({ pool: pool.pool, target });
  return rows.find((r) => r.state.limitId === limitId)?.state ?? null;
}
async function sourceOf(target: string) {
  return (await listPlanLimitSources({ pool: pool.pool, target }))[0] ?? null;
}
const readsSentTo = (target: string) =>
  (collector.sent.get(target) ?? []).filter((f) => f.method === "account/rateLimits/read");

beforeAll(async () => {
  mock = await startMockModel();
  mock.setWhamUsage(whamUsage(12, 34, "7.5"));
  const chatgpt = { baseUrl: `http://127.0.0.1:${mock.port}`, planType: "plus" };
  [alice, bob, carol, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "limits-alice", chatgptLogin: chatgpt }),
    startAppServer({ modelUrl: mock.baseUrl, name: "limits-bob" }),
    startAppServer({ modelUrl: mock.baseUrl, name: "limits-carol", version: CODEX_VERSION_FLOOR }),
    createTestDatabase(),
  ]);
  pool = createDb({ url: db.url, poolMax: 2 });
  // The developers connect first (the first client brands the server, facts: Surprises).
  [devAlice, devBob, devCarol] = await Promise.all([
    connectDevClient({ url: alice.url, token: alice.token, name: "codex_vscode" }),
    connectDevClient({ url: bob.url, token: bob.token, name: "codex_vscode" }),
    connectDevClient({ url: carol.url, token: carol.token, name: "codex_vscode" }),
  ]);
  await startTestCollector();
}, 90_000);

/** DESIGN rule 2, after every test: only allowlisted requests, the read only with its one flag. */
function expectOnlyAllowlisted(): void {
  for (const [target, sent] of collector.sent) {
    for (const f of sent) {
      const allowed = f.id === undefined ? ALLOWED_CLIENT_NOTIFICATIONS : ALLOWED_CLIENT_METHODS;
      expect(allowed.has(f.method as string), `${target}: ${JSON.stringify(f)}`).toBe(true);
      expect("result" in f || "error" in f).toBe(false);
      if (f.method === "account/rateLimits/read")
        expect(f.params).toEqual({ excludeResetCreditDetails: true });
    }
  }
}

afterEach((ctx) => {
  expectOnlyAllowlisted();
  if (ctx.task.result?.state === "fail") {
    console.error(bob.stderr().slice(-1500));
    console.error(collector.logs.slice(-40).join(""));
  }
});

afterAll(async () => {
  live?.terminate();
  await collector?.stop().catch(() => {});
  await Promise.all([devAlice, devBob, devCarol].map((d) => d?.close().catch(() => {})));
  await Promise.all([alice?.dispose(), bob?.dispose(), carol?.dispose()]);
  await pool?.close().catch(() => {});
  await mock?.close();
  await db?.drop();
}, 30_000);

let threadId: string;
/** One turn of bob's thread, the stand-in answering `step`; resolves with the turn's outcome. */
async function turn(step: Parameters<MockModel["push"]>[0]) {
  const before = rateLimitEvents;
  mock.push(step);
  const done = await devBob.waitForTurnCompleted(threadId, await devBob.startTurn(threadId, "go"), 30_000);
  // The update comes before turn/completed to the developer; the collector's copy may trail it.
  await waitUntil("the collector got the turn's rate-limit update", () => rateLimitEvents > before, 10_000);
  await collector.fleet.flush();
  return done;
}

/** Start the test's collector (alice and bob, a 10 s poll), count its rate-limit events, watch its live feed. */
async function startTestCollector(): Promise<void> {
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [
      { name: "alice", team: "payments", url: alice.url, token: alice.token },
      { name: "bob", team: "payments", url: bob.url, token: bob.token },
      { name: "carol", team: "ledger", url: carol.url, token: carol.token },
    ],
    // Threads stay followed between the turns of a test: an update reaches subscribers only, and
    // a resubscription at each turn's start could come after a fast turn's response.
    observer: { rateLimitPollMs: POLL_MS, idleUnsubscribeMs: 600_000 },
  });
  collector.fleet.subscribe({
    event: (_target, e) => {
      if (e.kind === "rateLimits") rateLimitEvents++;
    },
  });
  live = new WebSocket(`${collector.baseUrl.replace("http:", "ws:")}/api/v1/live`);
  live.on("message", (data) => {
    const m = parseLiveMessage(data.toString());
    if (m) liveMessages.push(m);
  });
  await new Promise<void>((resolve, reject) => {
    live.once("open", () => resolve());
    live.once("error", reject);
  });
  await waitUntil("every target open", () =>
    ["alice", "bob", "carol"].every((t) => collector.fleet.targets.get(t)?.status.state === "open"),
  );
}

describe("plan limits from response headers (bob, API-key login, real app-server 0.169.0)", () => {
  beforeAll(async () => {
    threadId = await devBob.startThread({ cwd: bob.cwd });
    // A first turn persists the rollout, so the collector can subscribe (facts §2).
    await devBob.waitForTurnCompleted(threadId, await devBob.startTurn(threadId, "warm up"), 30_000);
    await waitUntil("the collector follows bob's thread", () =>
      (collector.fleet.targets.get("bob")?.observer.subscribed ?? []).includes(threadId),
    );
  }, 60_000);

  it("stores primary, secondary and credits, keeps them through a response without headers, samples a rise, and announces it live", async () => {
    await turn({
      kind: "reply",
      headers: rateLimitHeaders({
        primary: { usedPercent: 42.5, windowMinutes: 300, resetAtSeconds: PRIMARY_RESET_S },
        secondary: { usedPercent: 87, windowMinutes: 10_080, resetAtSeconds: SECONDARY_RESET_S },
        credits: { hasCredits: true, unlimited: false, balance: "12.5" },
      }),
    });
    const first = await stateOf("bob");
    // codex rounds 42.5 to 43 (facts); seconds become ms.
    expect(first).toMatchObject({
      limitId: "codex",
      primary: { usedPercent: 43, windowDurationMins: 300, resetsAtMs: PRIMARY_RESET_S * 1000 },
      secondary: { usedPercent: 87, windowDurationMins: 10_080, resetsAtMs: SECONDARY_RESET_S * 1000 },
      credits: { hasCredits: true, unlimited: false, balance: "12.5" },
      rateLimitReachedType: null,
    });

    // No headers: codex sends primary/secondary null — no information, not 0 %.
    await turn({ kind: "reply" });
    const kept = await stateOf("bob");
    expect(kept?.primary).toEqual(first?.primary);
    expect(kept?.secondary).toEqual(first?.secondary);
    expect(kept?.credits?.balance).toBe("12.5");

    await turn({
      kind: "reply",
      headers: rateLimitHeaders({
        primary: { usedPercent: 60, windowMinutes: 300, resetAtSeconds: PRIMARY_RESET_S },
      }),
    });
    expect((await stateOf("bob"))?.primary?.usedPercent).toBe(60);
    expect((await stateOf("bob"))?.secondary?.usedPercent).toBe(87);
    const samples = await listPlanSamples({
      pool: pool.pool,
      targetIds: ["bob"],
      limitId: "codex",
      window: "primary",
      fromMs: 0,
      toMs: Date.now() + 60_000,
    });
    expect(samples.map((s) => s.sample.usedPercent)).toEqual([43, 60]);
    expect(samples.every((s) => s.sample.resetsAtMs === PRIMARY_RESET_S * 1000)).toBe(true);

    await waitUntil("a live limits row for bob at 60 %", () =>
      liveMessages.some(
        (m) => m.type === "limits" && m.row.target === "bob" && m.row.primary?.usedPercent === 60,
      ),
    );
    const row = liveMessages.findLast((m) => m.type === "limits" && m.row.target === "bob");
    expect(row?.type === "limits" && row.row).toMatchObject({
      team: "payments",
      limitId: "codex",
      secondary: { usedPercent: 87 },
      credits: { balance: "12.5" },
      forecast: { primary: { status: expect.any(String) }, secondary: { status: expect.any(String) } },
    });
  });

  it("fills rateLimitReachedType from a 429 usage limit, and the turn fails with usageLimitExceeded", async () => {
    const done = await turn({
      kind: "http429",
      headers: { "x-codex-rate-limit-reached-type": "workspace_member_credits_depleted" },
    });
    expect(done.turn.status).toBe("failed");
    expect(done.turn.error).toMatchObject({ codexErrorInfo: "usageLimitExceeded" });
    const state = await stateOf("bob");
    expect(state?.rateLimitReachedType).toBe("workspace_member_credits_depleted");
    expect(state?.rateLimitReachedAtMs).toEqual(expect.any(Number));
    // The windows learnt before are kept (the 429's update carries none).
    expect(state?.primary?.usedPercent).toBe(60);
    await waitUntil(
      "the collector records the failed turn",
      () => collector.fleet.threads.get(threadId)?.lastCodexErrorInfo === "usageLimitExceeded",
    );
    expect(collector.fleet.threads.get(threadId)?.lastTurnStatus).toBe("failed");
  });
});

describe("plan limits from account/rateLimits/read (alice, ChatGPT login, real app-server 0.169.0)", () => {
  it("reads planType and the windows at connect, and again after a poll when the answer changes", async () => {
    await waitUntil("alice's read stored", async () => (await stateOf("alice"))?.planType === "plus");
    expect(await stateOf("alice")).toMatchObject({
      planType: "plus",
      primary: { usedPercent: 12, windowDurationMins: 300, resetsAtMs: PRIMARY_RESET_S * 1000 },
      secondary: { usedPercent: 34, windowDurationMins: 10_080, resetsAtMs: SECONDARY_RESET_S * 1000 },
      credits: { hasCredits: true, unlimited: false, balance: "7.5" },
    });
    expect(await sourceOf("alice")).toMatchObject({ status: "ok", reason: null, team: "payments" });

    mock.setWhamUsage(whamUsage(20, 40, "6"));
    await waitUntil(
      "the next poll's answer stored",
      async () => (await stateOf("alice"))?.primary?.usedPercent === 20,
      POLL_MS + 15_000,
    );
    expect(await stateOf("alice")).toMatchObject({
      planType: "plus",
      secondary: { usedPercent: 40 },
      credits: { balance: "6" },
    });
    expect(readsSentTo("alice").length).toBeGreaterThanOrEqual(2);
    expect(mock.requests.filter((r) => r.path === "/backend-api/wham/usage").length).toBeGreaterThanOrEqual(
      2,
    );
    await waitUntil("a live limits row for alice at 20 %", () =>
      liveMessages.some(
        (m) => m.type === "limits" && m.row.target === "alice" && m.row.primary?.usedPercent === 20,
      ),
    );
  }, 40_000);
});

describe("an API-key target (bob)", () => {
  it("is recorded unavailable with the server's reason, logged once, polled on, and its usage still counted", async () => {
    await waitUntil("bob read at least twice", () => readsSentTo("bob").length >= 2, POLL_MS + 15_000);
    await collector.fleet.flush();
    expect(await sourceOf("bob")).toMatchObject({
      status: "unavailable",
      reason: "codex account authentication required to read rate limits",
    });
    const notices = collector.logs.filter(
      (l) => l.includes('"target":"bob"') && l.includes("plan limits not available"),
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('"level":30');
    expect(collector.fleet.targets.get("bob")?.status.state).toBe("open");
    // Usage counted exactly as served, whatever the plan-limit read says.
    for (const [threadId, served] of mock.servedByThread) {
      const t = collector.fleet.threads.get(threadId);
      if (t?.targetId !== "bob") continue;
      await waitUntil(
        `bob's thread ${threadId} counted`,
        () => collector.fleet.threads.get(threadId)?.countedTotalTokens === served.totalTokens,
      );
    }
  }, 40_000);

  it("sent only allowlisted requests to any target, and the read only as {excludeResetCreditDetails: true}", async () => {
    await waitUntil(
      "every target read at least twice",
      () => ["alice", "bob", "carol"].every((t) => readsSentTo(t).length >= 2),
      POLL_MS + 15_000,
    );
    expectOnlyAllowlisted();
  }, 40_000);
});

describe(`the oldest supported codex (carol, ${CODEX_VERSION_FLOOR})`, () => {
  it("is recorded unavailable, saying why, while the windows of its responses still arrive", async () => {
    await waitUntil("carol's read outcome stored", async () => (await sourceOf("carol")) !== null);
    expect(await sourceOf("carol")).toMatchObject({ status: "unavailable", reason: READ_TAKES_NO_PARAMS });
    const thread = await devCarol.startThread({ cwd: carol.cwd });
    await devCarol.waitForTurnCompleted(thread, await devCarol.startTurn(thread, "warm up"), 30_000);
    await waitUntil("the collector follows carol's thread", () =>
      (collector.fleet.targets.get("carol")?.observer.subscribed ?? []).includes(thread),
    );
    mock.push({
      kind: "reply",
      headers: rateLimitHeaders({
        primary: { usedPercent: 25, windowMinutes: 300, resetAtSeconds: PRIMARY_RESET_S },
      }),
    });
    await devCarol.waitForTurnCompleted(thread, await devCarol.startTurn(thread, "go"), 30_000);
    await waitUntil(
      "carol's window stored",
      async () => (await stateOf("carol"))?.primary?.usedPercent === 25,
    );
    expect((await stateOf("carol"))?.primary).toMatchObject({
      windowDurationMins: 300,
      resetsAtMs: PRIMARY_RESET_S * 1000,
    });
  }, 60_000);
});

describe("a restarted collector (bob)", () => {
  it("keeps merging into the stored state: a later update with only the secondary window keeps primary and credits", async () => {
    const before = await stateOf("bob");
    expect(before?.primary?.usedPercent).toBe(60);
    live.terminate();
    await collector.stop();
    await startTestCollector();
    // The new collector does not follow the idle thread yet: a first turn makes it active and
    // the collector subscribes (perhaps too late for that turn's own update).
    await devBob.waitForTurnCompleted(threadId, await devBob.startTurn(threadId, "again"), 30_000);
    await waitUntil("the new collector follows bob's thread", () =>
      (collector.fleet.targets.get("bob")?.observer.subscribed ?? []).includes(threadId),
    );
    await turn({
      kind: "reply",
      headers: rateLimitHeaders({
        secondary: { usedPercent: 88, windowMinutes: 10_080, resetAtSeconds: SECONDARY_RESET_S },
      }),
    });
    const after = await stateOf("bob");
    expect(after?.secondary?.usedPercent).toBe(88);
    expect(after?.primary).toEqual(before?.primary);
    // codex repeats the thread's credits with each response (facts): the same figures, seen again.
    expect(after?.credits).toMatchObject({ hasCredits: true, unlimited: false, balance: "12.5" });
    // The forecast on the live row reads the samples stored before the restart too.
    await waitUntil("a live limits row for bob at 88 %", () =>
      liveMessages.some(
        (m) => m.type === "limits" && m.row.target === "bob" && m.row.secondary?.usedPercent === 88,
      ),
    );
    const samples = collector.fleet.targets.get("bob")?.planLimits.limits.samplesOf("codex", "primary") ?? [];
    expect(samples.map((s) => s.usedPercent)).toEqual([43, 60]);
  }, 60_000);
});
