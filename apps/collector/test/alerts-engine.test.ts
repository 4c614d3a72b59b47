/**
 * The alert engine over a real Postgres database and a real local HTTP receiver, with a fake
 * clock and a hand-driven fleet state: persistence across restarts (a pending alert is not lost,
 * a notified one is not notified again), the outbox's retries, and held subjects.
 */

import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listDeliveries, listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../src/alerts/engine.ts";
import { createNotifiers } from "../src/alerts/notifiers/create.ts";
import { verifySignature } from "../src/alerts/notifiers/webhook.ts";
import type { Config } from "../src/config/schema.ts";
import { createLogger } from "../src/logger.ts";
import { FakeFleet, MIN, T0 } from "./support/alert-fixtures.ts";
import { loadFile, removeScratchDirs } from "./support/config-files.ts";
import { type PerAlertBody, perAlertBody } from "./support/per-alert-body.ts";

const SECRET = "hook-secret-9f3a";
const ALICE_TOKEN = "alice-bearer-token-77c1";
const DEFAULT_RULES = [
  "    - { id: approval-wait, kind: waitingOnApproval, forMs: 300000 }",
  "    - { id: system-error, kind: systemError, severity: critical }",
  "    - { id: turn-failed, kind: turnFailed, windowMs: 600000 }",
  "    - { id: target-down, kind: targetUnreachable, forMs: 120000 }",
  "    - { id: budget, kind: dailySpend, scope: team, thresholdUsd: 50 }",
];

let testDb: TestDatabase;
let db: Db;
let receiver: TestReceiver;
let now = T0;
let fake: FakeFleet;
const engines: AlertEngine[] = [];

async function config(rules = DEFAULT_RULES): Promise<Config> {
  const text = [
    "targets:",
    "  - { name: alice, team: payments, url: 'ws://127.0.0.1:1', tokenEnv: ALICE_TOKEN }",
    "  - { name: bob, team: search, url: 'ws://127.0.0.1:2' }",
    "alerts:",
    "  settleMs: 0",
    "  rules:",
    ...rules,
    "  notify:",
    `    - { type: webhook, name: hook, url: '${receiver.url}', secretEnv: HOOK_SECRET, minBackoffMs: 10, maxBackoffMs: 40, maxAttempts: 4, timeoutMs: 1000 }`,
  ].join("\n");
  return (await loadFile(text, { env: { HOOK_SECRET: SECRET, ALICE_TOKEN } })).config;
}

/** A started engine over the shared database (a "collector"); `stop` it to simulate a restart. */
async function engine(cfg?: Config): Promise<AlertEngine> {
  const c = cfg ?? (await config());
  const e = new AlertEngine({
    fleet: fake.fleet,
    pool: db.pool,
    config: c,
    log: createLogger({ level: "silent" }),
    publicUrl: "https://fleet.example.com",
    notifiers: createNotifiers(c.alerts.notify, { now: () => now }),
    now: () => now,
    timers: false,
  });
  engines.push(e);
  await e.start();
  return e;
}

async function restart(e: AlertEngine, cfg?: Config): Promise<AlertEngine> {
  await e.stop();
  return engine(cfg);
}

async function step(e: AlertEngine, atMs: number): Promise<void> {
  now = atMs;
  await e.evaluate();
  await e.dispatcher.idle();
}

async function open() {
  return (await listOpenAlerts({ pool: db.pool })).map((a) => [a.ruleId, a.subjectId, a.state] as const);
}

function bodies(): PerAlertBody[] {
  return receiver.received.map((r) => perAlertBody(r.body));
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  receiver = await startTestReceiver();
}, 60_000);

afterAll(async () => {
  await removeScratchDirs();
  await receiver?.close();
  await db?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.pool.query(
    "TRUNCATE alert, silence, notification_delivery, usage_hourly, turn, thread, target CASCADE",
  );
  receiver.received.length = 0;
  now = T0;
  fake = new FakeFleet();
  fake.target("alice", "payments", { state: "open", sinceMs: T0 - 60 * MIN }, T0 - 60 * MIN);
  fake.target("bob", "search", { state: "open", sinceMs: T0 - 60 * MIN }, T0 - 60 * MIN);
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

describe("alert engine", () => {
  it("does keep a pending approval alert across a restart, fire it once, and not notify it again after another", async () => {
    fake.thread("th-1", {
      targetId: "alice",
      status: "active",
      activeFlags: ["waitingOnApproval"],
      statusSinceMs: T0,
    });
    let e = await engine();
    expect(await open()).toEqual([["approval-wait", "th-1", "pending"]]);
    const [pending] = await listOpenAlerts({ pool: db.pool });

    now = T0 + 3 * MIN;
    e = await restart(e);
    const [kept] = await listOpenAlerts({ pool: db.pool });
    expect([kept?.id, kept?.state, kept?.pendingSinceMs]).toEqual([pending?.id, "pending", T0]);

    await step(e, T0 + 5 * MIN);
    expect(await open()).toEqual([["approval-wait", "th-1", "firing"]]);
    expect(bodies().map((b) => [b.event, b.alert.id, b.alert.state])).toEqual([
      ["firing", pending?.id, "firing"],
    ]);

    now = T0 + 6 * MIN;
    e = await restart(e);
    await step(e, T0 + 10 * MIN);
    expect(receiver.received).toHaveLength(1);

    // The developer answers: the flag clears and the alert resolves, notified once.
    fake.thread("th-1", { activeFlags: [] });
    await step(e, T0 + 11 * MIN);
    expect(await open()).toEqual([]);
    expect(bodies().map((b) => b.event)).toEqual(["firing", "resolved"]);
    for (const r of receiver.received) {
      expect(verifySignature(SECRET, r.body, r.headers["x-codex-fleet-signature"] as string)).toBe(true);
      expect(r.body).not.toContain(SECRET);
      expect(r.body).not.toContain(ALICE_TOKEN);
    }
    expect(bodies()[0]).toMatchObject({
      subject: { type: "thread", id: "th-1", target: "alice", team: "payments" },
      dashboardUrl: "https://fleet.example.com/threads/th-1",
    });
    const log = await listDeliveries({ pool: db.pool });
    expect(log.map((d) => [d.event, d.state, d.attempt])).toEqual([
      ["firing", "delivered", 1],
      ["resolved", "delivered", 1],
    ]);
  });

  it("does drop a pending alert without any notification when the wait ends early", async () => {
    fake.thread("th-1", {
      targetId: "alice",
      status: "active",
      activeFlags: ["waitingOnApproval"],
      statusSinceMs: T0,
    });
    const e = await engine();
    fake.thread("th-1", { status: "idle", activeFlags: [] });
    await step(e, T0 + MIN);
    expect(await open()).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it("does retry a failing receiver with backoff and log every attempt", async () => {
    receiver.script({ status: 503 }, { status: 500 });
    fake.thread("th-2", {
      targetId: "bob",
      status: "systemError",
      statusSinceMs: T0,
      lastCodexErrorInfo: "internalServerError",
    });
    const e = await engine();
    await e.dispatcher.idle();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.headers["x-codex-fleet-delivery"])).size).toBe(1);
    const [row] = await listDeliveries({ pool: db.pool });
    expect(row).toMatchObject({ event: "firing", state: "delivered", attempt: 3, ok: true, status: 200 });
    expect(row?.log.map((a) => a.status)).toEqual([503, 500, 200]);
  });

  it("does hand a notification cut short by shutdown to the next collector", async () => {
    receiver.script("hang");
    fake.thread("th-2", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const e = await engine();
    await receiver.waitFor(1);
    await e.stop();
    expect((await listDeliveries({ pool: db.pool })).map((d) => d.state)).toEqual(["pending"]);
    const e2 = await engine();
    await e2.dispatcher.idle();
    expect((await listDeliveries({ pool: db.pool })).map((d) => [d.state, d.attempt])).toEqual([
      ["delivered", 2],
    ]);
    // Same notification id both times: a receiver that saw the first request can deduplicate.
    expect(new Set(receiver.received.map((r) => r.headers["x-codex-fleet-delivery"])).size).toBe(1);
  });

  it("does hold a target-down alert through the first connection attempt after a restart", async () => {
    fake.target("alice", "payments", {
      state: "backoff",
      reason: "refused",
      error: "ECONNREFUSED",
      sinceMs: T0,
    });
    let e = await engine();
    await step(e, T0 + 2 * MIN);
    expect(await open()).toEqual([["target-down", "alice", "firing"]]);

    fake = new FakeFleet();
    fake.target("alice", "payments", { state: "connecting", reason: null, sinceMs: T0 + 3 * MIN });
    fake.target("bob", "search", { state: "open", sinceMs: T0 }, T0);
    e = await restart(e);
    await step(e, T0 + 3 * MIN);
    expect(await open()).toEqual([["target-down", "alice", "firing"]]);

    fake.target("alice", "payments", { state: "open", sinceMs: T0 + 4 * MIN }, T0 + 4 * MIN);
    await step(e, T0 + 4 * MIN);
    expect(await open()).toEqual([]);
    expect(bodies().map((b) => [b.event, b.subject.id])).toEqual([
      ["firing", "alice"],
      ["resolved", "alice"],
    ]);
    expect(bodies()[0]?.dashboardUrl).toBe("https://fleet.example.com/alerts?state=all");
  });

  it("does count a failed turn from the event, and from the turn table after a restart", async () => {
    const failed: FleetEvent = {
      kind: "turnCompleted",
      atMs: T0,
      threadId: "th-f",
      turn: {
        id: "turn-f",
        status: "failed",
        error: { message: "boom", codexErrorInfo: "internalServerError", httpStatusCode: 500 },
        startedAtMs: T0 - 1000,
        completedAtMs: T0,
        durationMs: 1000,
      },
    };
    let e = await engine();
    fake.event("alice", failed);
    await step(e, T0 + 1000);
    expect(await open()).toEqual([["turn-failed", "alice", "firing"]]);
    expect(bodies()[0]?.alert).toMatchObject({
      group: "internalServerError",
      subjectType: "developer",
      value: 1,
    });

    // What the ingest writer stores for that turn; a new collector learns of the failure from it.
    await db.pool.query(
      "INSERT INTO target (id, team, url) VALUES ('alice', 'payments', 'ws://127.0.0.1:1') ON CONFLICT DO NOTHING",
    );
    await db.pool.query("INSERT INTO thread (id, target_id) VALUES ('th-f', 'alice') ON CONFLICT DO NOTHING");
    await db.pool.query(
      `INSERT INTO turn (id, thread_id, target_id, status, codex_error_info, completed_at)
       VALUES ('turn-f', 'th-f', 'alice', 'failed', 'internalServerError', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC')
       ON CONFLICT DO NOTHING`,
      [T0],
    );
    e = await restart(e);
    await step(e, T0 + 5 * MIN);
    expect(await open()).toEqual([["turn-failed", "alice", "firing"]]);
    expect(receiver.received).toHaveLength(1);

    await step(e, T0 + 10 * MIN);
    expect(await open()).toEqual([]);
    expect(bodies().map((b) => b.event)).toEqual(["firing", "resolved"]);
  });

  it("does fire a team's daily budget from the rollup and resolve it on the next UTC day", async () => {
    const day = Math.floor(T0 / 86_400_000) * 86_400_000;
    await db.pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, cost_usd) VALUES
        (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', 'alice', 'payments', 'm', '', 30),
        (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', 'bob', 'payments', 'm', '', 25)`,
      [day + 3_600_000],
    );
    const e = await engine();
    await e.dispatcher.idle();
    expect(await open()).toEqual([["budget", "payments", "firing"]]);
    expect(bodies()[0]?.alert.summary).toBe("team payments spent $55.00 today (UTC), budget $50.00");
    await step(e, day + 86_400_000 + MIN);
    expect(await open()).toEqual([]);
  });

  it("does resolve, with a notification, the alerts of a rule removed from the config", async () => {
    fake.thread("th-2", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const e = await engine();
    await e.dispatcher.idle();
    const without = await config(DEFAULT_RULES.filter((r) => !r.includes("system-error")));
    const e2 = await restart(e, without);
    await e2.dispatcher.idle();
    expect(await open()).toEqual([]);
    expect(bodies().map((b) => b.event)).toEqual(["firing", "resolved"]);
  });

  it("does log and carry on when the database is unreachable", async () => {
    const broken = createDb({ url: "postgresql://postgres@127.0.0.1:1/none", poolMax: 1 });
    const lines: string[] = [];
    const c = await config();
    const e = new AlertEngine({
      fleet: fake.fleet,
      pool: broken.pool,
      config: c,
      log: createLogger({
        level: "info",
        destination: { write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream,
      }),
      publicUrl: "http://x",
      notifiers: [],
      now: () => now,
      timers: false,
    });
    await expect(e.start()).resolves.toBeUndefined();
    await expect(e.evaluate()).resolves.toBeUndefined();
    await e.stop();
    await broken.close();
    expect(lines.some((l) => l.includes("alerts: evaluation failed"))).toBe(true);
  });
});
