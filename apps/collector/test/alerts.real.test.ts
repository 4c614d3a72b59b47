/**
 * Alerts against the real `codex app-server` 0.169.0 (thresholds shortened): an approval nobody
 * answers goes pending, survives a collector restart, fires and resolves when the developer
 * interrupts; one the developer answers late resolves when answered; a failed turn fires and a
 * collector restart does not notify it again; a killed app-server fires "target unreachable" and
 * resolves after its restart, which unloads the failed thread, so its failed-turn alert resolves
 * too. A real local receiver gets every notification exactly once, with a valid signature, and the
 * collector never answers a server request.
 *
 * The collector is the product's composition root (test/support/collector.ts) with the `alerts:`
 * section in its config file and the webhook secret in its environment.
 */

import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient, type ServerRequest } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listOpenAlerts, type StoredAlert } from "@codex-fleet/db/repositories/alerts-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { GroupNotification } from "../src/alerts/notifiers/group-payload.ts";
import { verifySignature } from "../src/alerts/notifiers/webhook.ts";
import { groupEvents } from "./support/alert-fixtures.ts";
import { type RunningCollector, startCollector } from "./support/collector.ts";

const SECRET = "real-test-hook-secret";
const ALERTS_YAML = (hook: string, slack: string) =>
  [
    "alerts:",
    "  repeatIntervalMs: 0",
    "  evaluateIntervalMs: 200",
    "  settleMs: 500",
    "  rules:",
    "    - { id: approval-wait, kind: waitingOnApproval, forMs: 3000 }",
    "    - { id: turn-failed, kind: turnFailed, windowMs: 300000, severity: critical }",
    "    - { id: target-down, kind: targetUnreachable, forMs: 1000, severity: critical }",
    // Grouped (issue 16), each group to both receivers, without the default 30 s groupWait.
    "  route: { receiver: hook, groupWaitMs: 0, groupIntervalMs: 1, routes: [{ receiver: hook, continue: true }, { receiver: slack }] }",
    "  notify:",
    `    - { type: webhook, name: hook, url: '${hook}', secretEnv: HOOK_SECRET, minBackoffMs: 50, maxBackoffMs: 200 }`,
    `    - { type: slack, name: slack, url: '${slack}', minBackoffMs: 50, maxBackoffMs: 200 }`,
  ].join("\n");

let mock: MockModel;
let a: AppServer;
let db: TestDatabase;
let pool: Db;
let hook: TestReceiver;
let slack: TestReceiver;
let collector: RunningCollector | null = null;
let devA: DevClient;
const clients: DevClient[] = [];
const allSent: Record<string, unknown>[] = [];

async function dev(): Promise<DevClient> {
  const c = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
  clients.push(c);
  return c;
}

/** The collector, alerts included, as the composition root builds it. */
async function startAll(): Promise<void> {
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "payments", url: a.url, token: a.token }],
    extraYaml: ALERTS_YAML(hook.url, slack.url),
    env: { HOOK_SECRET: SECRET },
  });
  const c = collector;
  await waitUntil("alice open", () => c.fleet.targets.get("alice")?.status.state === "open");
}

async function stopAll(): Promise<void> {
  if (collector) {
    for (const frames of collector.sent.values()) allSent.push(...frames);
    await collector.stop();
    collector = null;
  }
}

async function alert(ruleId: string, subjectId: string): Promise<StoredAlert | undefined> {
  return (await listOpenAlerts({ pool: pool.pool })).find(
    (x) => x.ruleId === ruleId && x.subjectId === subjectId,
  );
}

async function waitForState(
  ruleId: string,
  subjectId: string,
  state: "pending" | "firing" | null,
  timeoutMs = 20_000,
) {
  await waitUntil(
    `${ruleId} on ${subjectId} ${state ?? "closed"}`,
    async () => (await alert(ruleId, subjectId))?.state === (state ?? undefined),
    timeoutMs,
  );
  return alert(ruleId, subjectId);
}

/** Alert events of the group messages the webhook received so far, as [ruleId, subject, event]. */
function received(): [string, string, string][] {
  return hook.received
    .flatMap((r) => groupEvents(r.body))
    .filter((e) => e.event !== "repeat")
    .map((e) => [e.ruleId, e.subjectId, e.event]);
}

beforeAll(async () => {
  mock = await startMockModel();
  [a, db, hook, slack] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "alerts-alice" }),
    createTestDatabase(),
    startTestReceiver(),
    startTestReceiver(),
  ]);
  pool = createDb({ url: db.url, poolMax: 2 });
  devA = await dev();
  await startAll();
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(a.stderr().slice(-3000));
    if (collector) console.error(collector.logs.slice(-40).join(""));
  }
});

afterAll(async () => {
  await stopAll().catch(() => {});
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await a?.dispose();
  await mock?.close();
  await Promise.all([hook?.close(), slack?.close()]);
  await pool?.close();
  await db?.drop();
}, 30_000);

describe("alerts against a real app-server", () => {
  it("fires an unanswered approval after a collector restart kept it pending, and resolves it when the developer interrupts", async () => {
    const thread = await devA.startThread({ cwd: a.cwd, approvalPolicy: "untrusted" });
    mock.push({
      kind: "toolCall",
      command: "touch nobody-approved.txt",
      usage: { input: 700, cached: 0, output: 20, reasoning: 0 },
    });
    const turn = await devA.startTurn(thread, "nobody answers");
    const pending = await waitForState("approval-wait", thread, "pending");

    await stopAll();
    expect((await alert("approval-wait", thread))?.state).toBe("pending");
    await startAll();

    const firing = await waitForState("approval-wait", thread, "firing");
    expect([firing?.id, firing?.pendingSinceMs]).toEqual([pending?.id, pending?.pendingSinceMs]);
    await waitUntil("firing notified", () => received().length === 1);
    expect(received()).toEqual([["approval-wait", thread, "firing"]]);
    const first = JSON.parse(hook.received[0]?.body ?? "{}") as GroupNotification;
    expect(first.members[0]?.dashboardUrl).toBe(`${collector?.baseUrl}/threads/${thread}`);

    await devA.interrupt(thread, turn);
    expect((await devA.waitForTurnCompleted(thread, turn)).turn.status).toBe("interrupted");
    await waitForState("approval-wait", thread, null);
    await waitUntil("resolved notified", () => received().length === 2);
    expect(received()[1]).toEqual(["approval-wait", thread, "resolved"]);
  }, 90_000);

  it("resolves a fired approval when the developer answers it", async () => {
    const thread = await devA.startThread({ cwd: a.cwd, approvalPolicy: "untrusted" });
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    devA.onServerRequest(async (req: ServerRequest) => {
      await answered;
      return req.method === "item/commandExecution/requestApproval" ? { decision: "accept" } : undefined;
    });
    mock.push(
      {
        kind: "toolCall",
        command: "touch approved-late.txt",
        usage: { input: 800, cached: 0, output: 30, reasoning: 0 },
      },
      { kind: "reply", usage: { input: 900, cached: 800, output: 25, reasoning: 0 } },
    );
    const turn = await devA.startTurn(thread, "answered after the alert fired");
    await waitForState("approval-wait", thread, "firing");
    answer();
    expect((await devA.waitForTurnCompleted(thread, turn)).turn.status).toBe("completed");
    await waitForState("approval-wait", thread, null);
    devA.onServerRequest(() => undefined);
    await waitUntil("both notified", () => received().filter(([, s]) => s === thread).length === 2);
    expect(received().filter(([, s]) => s === thread)).toEqual([
      ["approval-wait", thread, "firing"],
      ["approval-wait", thread, "resolved"],
    ]);
  }, 90_000);

  it("fires on a failed turn and does not notify it again after a collector restart", async () => {
    const thread = await devA.startThread({ cwd: a.cwd });
    mock.push({ kind: "http500" });
    const turn = await devA.startTurn(thread, "fails with 500");
    expect((await devA.waitForTurnCompleted(thread, turn)).turn.status).toBe("failed");
    const firing = await waitForState("turn-failed", "alice", "firing");
    expect([firing?.groupKey, firing?.subjectType, firing?.value]).toEqual([
      "internalServerError",
      "developer",
      1,
    ]);
    await waitUntil("failure notified", () => received().some(([r]) => r === "turn-failed"));

    await stopAll();
    // What the restarted collector reads the failure from: a read-back racing the turn's end once
    // stored it interrupted (observer listEnded).
    const stored = await pool.pool.query("SELECT status FROM turn WHERE id = $1", [turn]);
    expect(stored.rows).toEqual([{ status: "failed" }]);
    await startAll();
    // Give the restarted collector several evaluations (every 200 ms) to misbehave.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await alert("turn-failed", "alice"))?.id).toBe(firing?.id);
    expect(received().filter(([r]) => r === "turn-failed")).toEqual([["turn-failed", "alice", "firing"]]);
  }, 90_000);

  it("fires 'target unreachable' when the app-server is killed and resolves it after a restart", async () => {
    await a.kill();
    const down = await waitForState("target-down", "alice", "firing");
    expect(down?.details).toMatchObject({ reason: expect.any(String) });
    await a.restart();
    await waitForState("target-down", "alice", null, 30_000);
    await waitUntil("target notified", () => received().filter(([r]) => r === "target-down").length === 2);
    expect(received().filter(([r]) => r === "target-down")).toEqual([
      ["target-down", "alice", "firing"],
      ["target-down", "alice", "resolved"],
    ]);
    // The restart unloaded the failed thread (no stale alarm, issue 16): its turn-failed alert ends.
    await waitForState("turn-failed", "alice", null);
    await waitUntil("failure resolved", () => received().filter(([r]) => r === "turn-failed").length === 2);
    expect(received().filter(([r]) => r === "turn-failed")).toEqual([
      ["turn-failed", "alice", "firing"],
      ["turn-failed", "alice", "resolved"],
    ]);
  }, 90_000);

  it("delivered every notification exactly once, signed, to both receivers, and never answered a server request", async () => {
    await stopAll();
    const ids = hook.received.map((r) => r.headers["x-codex-fleet-delivery"]);
    expect(new Set(ids).size).toBe(ids.length);
    const keys = hook.received
      .flatMap((r) => groupEvents(r.body))
      .filter((e) => e.event !== "repeat")
      .map((e) => `${e.alertId}:${e.event}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(received()).toHaveLength(8);
    for (const r of hook.received) {
      expect(verifySignature(SECRET, r.body, r.headers["x-codex-fleet-signature"] as string)).toBe(true);
      expect(r.body).not.toContain(SECRET);
      if (a.token) expect(r.body).not.toContain(a.token);
    }
    expect(slack.received).toHaveLength(hook.received.length);
    for (const r of slack.received)
      expect(Object.keys(JSON.parse(r.body)).sort()).toEqual(["blocks", "text"]);

    expect(allSent.length).toBeGreaterThan(5);
    for (const frame of allSent) {
      expect(frame).not.toHaveProperty("result");
      expect(frame).not.toHaveProperty("error");
    }
  });
});
