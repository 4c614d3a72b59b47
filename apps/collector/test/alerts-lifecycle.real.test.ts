/**
 * No stale alarms against the real `codex app-server` 0.169.0 (issue 16): a turn that fails (the
 * model stand-in answers HTTP 500) raises a `systemError` and a failed-turn alert; both resolve
 * when the developer's next turn succeeds, when the thread unloads (60 s after its last client
 * left, facts §2), when the developer archives it (measured: status `notLoaded`, then
 * `thread/archived`), and after a collector restart when the thread unloaded while the collector
 * was away (nobody heard its `notLoaded`). A real local receiver hears firing, then resolved, once
 * each.
 */

import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listOpenAlerts, type StoredAlert } from "@codex-fleet/db/repositories/alerts-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GroupNotification } from "../src/alerts/notifiers/group-payload.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";

const groupMembers = (body: string) => (JSON.parse(body) as GroupNotification).members;

const ALERTS_YAML = (hook: string) =>
  [
    "alerts:",
    "  repeatIntervalMs: 0",
    "  evaluateIntervalMs: 200",
    "  settleMs: 500",
    "  rules:",
    "    - { id: system-error, kind: systemError }",
    // Per thread, so each test's thread has its own failed-turn alert.
    "    - { id: turn-failed, kind: turnFailed, scope: thread, windowMs: 600000 }",
    // Grouped (issue 16), without the default 30 s groupWait: each change is announced at once.
    "  route: { receiver: hook, groupWaitMs: 0, groupIntervalMs: 1 }",
    "  notify:",
    `    - { type: webhook, name: hook, url: '${hook}', minBackoffMs: 50, maxBackoffMs: 200 }`,
  ].join("\n");

let mock: MockModel;
let a: AppServer;
let db: TestDatabase;
let pool: Db;
let hook: TestReceiver;
let collector: RunningCollector;
const clients: DevClient[] = [];

async function dev(): Promise<DevClient> {
  const c = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
  clients.push(c);
  return c;
}

async function openAlerts(threadId: string): Promise<StoredAlert[]> {
  return (await listOpenAlerts({ pool: pool.pool })).filter((x) => x.threadId === threadId);
}

/** Both alerts of the thread firing (system-error on the thread, turn-failed grouped by error). */
async function bothFiring(threadId: string): Promise<StoredAlert[]> {
  await waitUntil(
    `system-error and turn-failed firing on ${threadId}`,
    async () => {
      const open = await openAlerts(threadId);
      return open.filter((x) => x.state === "firing").length === 2;
    },
    20_000,
  );
  return openAlerts(threadId);
}

async function noneOpen(threadId: string, timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    `no open alert on ${threadId}`,
    async () => (await openAlerts(threadId)).length === 0,
    timeoutMs,
  );
}

/** Webhook notifications about the thread, as [ruleId, event], in order. */
function heard(threadId: string): [string, string][] {
  return hook.received
    .flatMap((r) => groupMembers(r.body))
    .filter((m) => m.alert.threadId === threadId && m.change !== "firing")
    .map((m) => [m.alert.ruleId, m.change === "new" ? "firing" : "resolved"]);
}

async function everyoneHeardTheEnd(threadId: string): Promise<void> {
  await waitUntil("firing and resolved notified", () => heard(threadId).length === 4);
  expect(heard(threadId).sort()).toEqual([
    ["system-error", "firing"],
    ["system-error", "resolved"],
    ["turn-failed", "firing"],
    ["turn-failed", "resolved"],
  ]);
}

/** A new thread of `client` whose first turn fails with HTTP 500; both alerts fire. */
async function failedThread(client: DevClient): Promise<string> {
  const thread = await client.startThread({ cwd: a.cwd });
  mock.push({ kind: "http500" });
  const turn = await client.startTurn(thread, "fails with 500");
  expect((await client.waitForTurnCompleted(thread, turn)).turn.status).toBe("failed");
  const firing = await bothFiring(thread);
  expect(firing.map((x) => [x.ruleId, x.groupKey]).sort()).toEqual([
    ["system-error", ""],
    ["turn-failed", "internalServerError"],
  ]);
  return thread;
}

function startAll(idleUnsubscribeMs = 1000): Promise<RunningCollector> {
  return startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "payments", url: a.url, token: a.token }],
    extraYaml: ALERTS_YAML(hook.url),
    // Unsubscribe a thread idle (or in systemError) for 1 s by default, so that it can unload.
    observer: { idleUnsubscribeMs },
  });
}

beforeAll(async () => {
  mock = await startMockModel();
  [a, db, hook] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "lifecycle-alice" }),
    createTestDatabase(),
    startTestReceiver(),
  ]);
  pool = createDb({ url: db.url, poolMax: 2 });
  await dev(); // the developer initializes first (facts: Surprises)
  collector = await startAll();
  await waitUntil("alice open", () => collector.fleet.targets.get("alice")?.status.state === "open");
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(a.stderr().slice(-3000));
    console.error(collector.logs.slice(-40).join(""));
  }
});

afterAll(async () => {
  await collector?.stop();
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await a?.dispose();
  await mock?.close();
  await hook?.close();
  await pool?.close();
  await db?.drop();
}, 30_000);

describe("a failed turn's alerts against a real app-server", () => {
  it("resolve when the developer's next turn succeeds", async () => {
    const devA = clients[0] as DevClient;
    const thread = await failedThread(devA);
    // Still firing while nothing changes: the thread stays in systemError (facts §3).
    await new Promise((r) => setTimeout(r, 1000));
    expect((await openAlerts(thread)).map((x) => x.state)).toEqual(["firing", "firing"]);

    mock.push({ kind: "reply", usage: { input: 600, cached: 0, output: 20, reasoning: 0 } });
    const next = await devA.startTurn(thread, "try again");
    expect((await devA.waitForTurnCompleted(thread, next)).turn.status).toBe("completed");
    await noneOpen(thread);
    expect(collector.fleet.threads.get(thread)?.status).toBe("idle");
    await everyoneHeardTheEnd(thread);
  }, 90_000);

  it("resolve when the thread unloads after its developer left", async () => {
    const devB = await dev();
    const thread = await failedThread(devB);
    await devB.close();
    // Unloaded 60 s after its last subscriber (the developer, then the collector after 1 s) left.
    await noneOpen(thread, 75_000);
    // notLoaded, or idle again when the collector cold-resumed it to read a total it was owed
    // (the subscription of a brand-new thread fails until its first turn is persisted, facts §2).
    expect(["notLoaded", "idle"]).toContain(collector.fleet.threads.get(thread)?.status);
    await everyoneHeardTheEnd(thread);
  }, 90_000);

  it("resolve when the developer archives the thread", async () => {
    const devA = clients[0] as DevClient;
    const thread = await failedThread(devA);
    await devA.request("thread/archive", { threadId: thread });
    await noneOpen(thread);
    expect(collector.fleet.threads.get(thread)?.status).toBe("notLoaded");
    await everyoneHeardTheEnd(thread);
  }, 90_000);

  it("resolve after a collector restart when the thread unloaded while the collector was away", async () => {
    // A collector that stays subscribed between the turns, so that it reads every total and the
    // thread owes it nothing (an owed thread would be cold-resumed at the next connect, which
    // loads it again: idle, and this test would not tell whether the restart noticed the unload).
    await collector.stop();
    collector = await startAll(300_000);
    await waitUntil("alice open", () => collector.fleet.targets.get("alice")?.status.state === "open");
    const devC = await dev();
    const thread = await devC.startThread({ cwd: a.cwd });
    // A brand-new thread cannot be subscribed before its first turn is persisted (facts §2): when
    // that first turn outruns the subscription (a loaded machine), its total is owed until the
    // next model response. Work until the collector is subscribed and owed nothing.
    const settled = () => {
      const t = collector.fleet.threads.get(thread);
      return (t?.countedTotalTokens ?? 0) > 0 && t?.owedSinceMs === null;
    };
    for (let i = 0; i < 3 && !settled(); i++) {
      mock.push({ kind: "reply", usage: { input: 500, cached: 0, output: 20, reasoning: 0 } });
      await devC.waitForTurnCompleted(thread, await devC.startTurn(thread, `works ${i}`));
      const deadline = Date.now() + 5_000;
      while (!settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    await waitUntil("total read, nothing owed", settled);
    mock.push({ kind: "http500" });
    const turn = await devC.startTurn(thread, "fails with 500");
    expect((await devC.waitForTurnCompleted(thread, turn)).turn.status).toBe("failed");
    await bothFiring(thread);
    await waitUntil("no longer owed", () => collector.fleet.threads.get(thread)?.owedSinceMs === null);
    // Contact goes on past the thread's last update (whole seconds, 2 s of slack): at the restart
    // `thread/list` skips it, as it skips every thread that failed long before the collector left.
    await new Promise((r) => setTimeout(r, 4000));

    await collector.stop();
    await devC.close();
    // Unloaded 60 s after its last subscriber left; nobody heard its notLoaded.
    await new Promise((r) => setTimeout(r, 62_000));
    collector = await startAll();
    await noneOpen(thread);
    expect(collector.fleet.threads.get(thread)?.status).toBe("notLoaded");
    await everyoneHeardTheEnd(thread);
  }, 90_000);
});
