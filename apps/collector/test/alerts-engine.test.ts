/**
 * The alert engine over a real Postgres database and real local HTTP receivers, with a fake
 * clock and a hand-driven fleet state: persistence across restarts (a pending alert is not lost,
 * a notified one is not notified again), grouped notifications (issue 16: one message per group
 * and receiver, after groupWait; a storm of 200 failing threads), inhibition, the outbox's
 * retries, held subjects, and a deposed leader's flush refused by the lease fence.
 */
import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { createDb, type Db } from "@codex-fleet/db/client";
import { listDeliveries, listGroups, listOpenAlerts } from "@codex-fleet/db/repositories/alerts-repository";
import {
  acquireLeases,
  expireLeasesOf,
  type LeaseFence,
  LeaseLostError,
} from "@codex-fleet/db/repositories/lease-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../src/alerts/engine.ts";
import type { ConfiguredNotifier } from "../src/alerts/notifiers/create.ts";
import type { GroupNotification } from "../src/alerts/notifiers/group-payload.ts";
import { postJson } from "../src/alerts/notifiers/http.ts";
import type { Config } from "../src/config/schema.ts";
import { createLogger } from "../src/logger.ts";
import { Metrics } from "../src/metrics.ts";
import { FakeFleet, MIN, T0 } from "./support/alert-fixtures.ts";
import { loadFile, removeScratchDirs } from "./support/config-files.ts";

const S = 1000;
/** The default route's groupWaitMs. */
const WAIT = 30 * S;
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
let pager: TestReceiver;
let now = T0;
let fake: FakeFleet;
const engines: AlertEngine[] = [];

async function config(rules = DEFAULT_RULES, extra: string[] = []): Promise<Config> {
  const text = [
    "targets:",
    "  - { name: alice, team: payments, url: 'ws://127.0.0.1:1', tokenEnv: ALICE_TOKEN }",
    "  - { name: bob, team: search, url: 'ws://127.0.0.1:2' }",
    "alerts:",
    "  settleMs: 0",
    ...extra,
    "  rules:",
    ...rules,
    "  notify:",
    `    - { type: webhook, name: hook, url: '${receiver.url}' }`,
  ].join("\n");
  return (await loadFile(text, { env: { ALICE_TOKEN } })).config;
}

/**
 * A receiver that posts the group message as JSON to a real local server, with the notification id
 * as X-Codex-Fleet-Delivery. It stands in for the webhook notifier until that one takes a
 * GroupNotification (issue 16, H-recv's branch); delivery, retries and the log are the product's.
 */
function groupHook(name: string, url: string): ConfiguredNotifier {
  return {
    notifier: {
      name,
      type: "webhook",
      send: (n: unknown, signal?: AbortSignal) =>
        postJson({
          url,
          body: JSON.stringify(n),
          headers: { "x-codex-fleet-delivery": (n as GroupNotification).id },
          timeoutMs: 1000,
          signal,
          now: () => now,
        }),
    },
    policy: { maxAttempts: 4, minBackoffMs: 10, maxBackoffMs: 40 },
    timeoutMs: 1000,
  };
}

/** A started engine over the shared database (a "collector"); `stop` it to simulate a restart. */
async function engine(
  cfg?: Config,
  opts: { fence?: LeaseFence; receivers?: ConfiguredNotifier[]; metrics?: Metrics } = {},
): Promise<AlertEngine> {
  const c = cfg ?? (await config());
  const e = new AlertEngine({
    fleet: fake.fleet,
    pool: db.pool,
    config: c,
    log: createLogger({ level: "silent" }),
    publicUrl: "https://fleet.example.com",
    notifiers: opts.receivers ?? [groupHook("hook", receiver.url)],
    now: () => now,
    timers: false,
    onDelivered: (receiver, outcome) => opts.metrics?.alertNotifications.inc([receiver, outcome]),
  });
  engines.push(e);
  await e.start(opts.fence ?? null);
  return e;
}

async function restart(e: AlertEngine, cfg?: Config): Promise<AlertEngine> {
  await e.stop();
  return engine(cfg);
}

/** Evaluate at `atMs`, flush the groups due then and deliver what they queued. */
async function step(e: AlertEngine, atMs: number): Promise<void> {
  now = atMs;
  await e.evaluate();
  e.dispatcher.kick();
  await e.dispatcher.idle();
}

/** A turn of `threadId` that failed at T0 with internalServerError. */
function failedTurn(threadId: string, turnId: string): FleetEvent {
  return {
    kind: "turnCompleted",
    atMs: T0,
    threadId,
    turn: {
      id: turnId,
      status: "failed",
      error: { message: "boom", codexErrorInfo: "internalServerError", httpStatusCode: 500 },
      startedAtMs: T0 - 1000,
      completedAtMs: T0,
      durationMs: 1000,
    },
  };
}

async function open() {
  return (await listOpenAlerts({ pool: db.pool })).map((a) => [a.ruleId, a.subjectId, a.state] as const);
}

function bodies(r: TestReceiver = receiver): GroupNotification[] {
  return r.received.map((x) => JSON.parse(x.body) as GroupNotification);
}

/** Each message as [status, [change, subjectId] of its members]. */
function messages(r: TestReceiver = receiver) {
  return bodies(r).map((b) => [b.status, b.members.map((m) => [m.change, m.alert.subjectId])]);
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  receiver = await startTestReceiver();
  pager = await startTestReceiver();
}, 60_000);

afterAll(async () => {
  await removeScratchDirs();
  await receiver?.close();
  await pager?.close();
  await db?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.pool.query(
    "TRUNCATE alert, silence, notification_delivery, notification_group, lease, usage_hourly, turn, thread, target CASCADE",
  );
  receiver.received.length = 0;
  pager.received.length = 0;
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
    // Fired: its group waits groupWait for more alerts before the first message.
    expect(receiver.received).toEqual([]);
    await step(e, T0 + 5 * MIN + WAIT);
    expect(messages()).toEqual([["firing", [["new", "th-1"]]]]);
    expect(bodies()[0]?.members[0]?.alert.id).toBe(pending?.id);

    now = T0 + 6 * MIN;
    e = await restart(e);
    await step(e, T0 + 10 * MIN);
    expect(receiver.received).toHaveLength(1);

    // The developer answers: the flag clears and the alert resolves, notified once, grouped.
    fake.thread("th-1", { activeFlags: [] });
    await step(e, T0 + 11 * MIN);
    expect(await open()).toEqual([]);
    await step(e, T0 + 11 * MIN + WAIT);
    expect(messages()).toEqual([
      ["firing", [["new", "th-1"]]],
      ["resolved", [["resolved", "th-1"]]],
    ]);
    for (const r of receiver.received) expect(r.body).not.toContain(ALICE_TOKEN);
    expect(bodies()[0]).toMatchObject({
      receiver: "hook",
      groupLabels: { ruleId: "approval-wait", team: "payments" },
      title: "[FIRING:1] approval-wait team=payments",
      dashboardUrl: "https://fleet.example.com/alerts?ruleId=approval-wait&team=payments",
    });
    expect(bodies()[0]?.members[0]?.dashboardUrl).toBe("https://fleet.example.com/threads/th-1");
    expect(bodies()[0]?.groupKey).toBe(bodies()[1]?.groupKey);
    const log = await listDeliveries({ pool: db.pool });
    expect(log.map((d) => [d.event, d.state, d.attempt, d.notificationId])).toEqual([
      ["firing", "delivered", 1, `hook:${bodies()[0]?.groupKey}:1`],
      ["resolved", "delivered", 1, `hook:${bodies()[0]?.groupKey}:2`],
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
    await step(e, T0 + 10 * MIN);
    expect(await open()).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it("does send nothing for an alert that resolves within groupWait", async () => {
    fake.thread("th-2", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const e = await engine();
    fake.thread("th-2", { status: "idle" });
    await step(e, T0 + 10 * S);
    await step(e, T0 + 10 * MIN);
    expect(await open()).toEqual([]);
    expect(receiver.received).toEqual([]);
    expect((await listGroups({ pool: db.pool })).map((g) => [g.notified, g.nextFlushAtMs, g.seq])).toEqual([
      [[], null, 1],
    ]);
  });

  it("does send a storm of 200 failing threads as one message per receiver, then resolve it grouped", async () => {
    for (let i = 0; i < 200; i++)
      fake.thread(`th-${String(i).padStart(3, "0")}`, {
        targetId: "alice",
        status: "systemError",
        statusSinceMs: T0,
      });
    pager.script({ status: 400 });
    const metrics = new Metrics();
    const e = await engine(await config(), {
      receivers: [groupHook("hook", receiver.url), groupHook("pager", pager.url)],
      metrics,
    });
    expect((await open()).filter(([, , state]) => state === "firing")).toHaveLength(200);
    await step(e, T0 + WAIT - 1);
    expect([receiver.received.length, pager.received.length]).toEqual([0, 0]);

    await step(e, T0 + WAIT);
    for (const r of [receiver, pager]) {
      const [first, ...rest] = bodies(r);
      expect(rest).toEqual([]);
      expect(first).toMatchObject({
        status: "firing",
        severity: "critical",
        groupLabels: { ruleId: "system-error", team: "payments" },
        counts: { firing: 200, new: 200, resolved: 0 },
        truncated: 150,
        title: "[FIRING:200] system-error team=payments",
      });
      expect(first?.members).toHaveLength(50);
      expect(first?.members.every((m) => m.change === "new")).toBe(true);
    }
    expect(bodies(receiver)[0]?.receiver).toBe("hook");
    expect(bodies(pager)[0]?.receiver).toBe("pager");

    // Every thread goes idle: 200 resolves, held until groupInterval after the first message.
    for (let i = 0; i < 200; i++) fake.thread(`th-${String(i).padStart(3, "0")}`, { status: "idle" });
    await step(e, T0 + 2 * MIN);
    expect(await open()).toEqual([]);
    expect([receiver.received.length, pager.received.length]).toEqual([1, 1]);
    await step(e, T0 + WAIT + 5 * MIN);
    for (const r of [receiver, pager]) {
      expect(bodies(r)).toHaveLength(2);
      expect(bodies(r)[1]).toMatchObject({
        status: "resolved",
        counts: { firing: 0, new: 0, resolved: 200 },
        truncated: 150,
        title: "[RESOLVED] system-error team=payments",
      });
    }
    // The group ended: nothing more, ever, for it.
    await step(e, T0 + 300 * MIN);
    expect([receiver.received.length, pager.received.length]).toEqual([2, 2]);
    // The pager refused the first message (400: not retried): counted failed, the rest sent.
    expect(metrics.render()).toContain(
      [
        'codex_fleet_alert_notifications_total{receiver="hook",outcome="sent"} 2',
        'codex_fleet_alert_notifications_total{receiver="pager",outcome="failed"} 1',
        'codex_fleet_alert_notifications_total{receiver="pager",outcome="sent"} 1',
      ].join("\n"),
    );
  });

  it("does inhibit the thread alerts of a target that is down: shown, not notified", async () => {
    const rules = [
      "    - { id: system-error, kind: systemError, severity: critical }",
      "    - { id: target-down, kind: targetUnreachable, forMs: 0 }",
    ];
    fake.thread("th-1", { targetId: "alice", status: "systemError", statusSinceMs: T0 });
    fake.thread("th-9", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const e = await engine(await config(rules));
    fake.target("alice", "payments", {
      state: "backoff",
      reason: "refused",
      error: "ECONNREFUSED",
      sinceMs: T0 + 10 * S,
    });
    await step(e, T0 + 10 * S);
    const views = new Map(e.openViews().map((v) => [v.subjectId, v]));
    expect([
      views.get("th-1")?.inhibited,
      views.get("th-9")?.inhibited,
      views.get("alice")?.inhibited,
    ]).toEqual([true, false, false]);
    await step(e, T0 + WAIT + 10 * S);
    expect(bodies().map((b) => [b.groupLabels.ruleId, b.members.map((m) => m.alert.subjectId)])).toEqual([
      ["system-error", ["th-9"]],
      ["target-down", ["alice"]],
    ]);

    // Off with the built-in rule, th-1 is notified like any other.
    await e.stop();
    await db.pool.query("TRUNCATE alert, notification_delivery, notification_group");
    receiver.received.length = 0;
    now = T0;
    fake.target("alice", "payments", { state: "open", sinceMs: T0 - 60 * MIN }, T0 - 60 * MIN);
    const off = await engine(await config(rules, ["  inhibitThreadsOfDownTargets: false"]));
    fake.target("alice", "payments", {
      state: "backoff",
      reason: "refused",
      error: "ECONNREFUSED",
      sinceMs: T0 + 10 * S,
    });
    await step(off, T0 + 10 * S);
    await step(off, T0 + WAIT + 10 * S);
    expect(off.openViews().every((v) => v.inhibited === false)).toBe(true);
    expect(
      bodies()
        .flatMap((b) => b.members.map((m) => m.alert.subjectId))
        .sort(),
    ).toEqual(["alice", "th-1", "th-9"]);
  });

  it("does re-send an unchanged firing group every repeat interval (the rule's own), not after an ack", async () => {
    const rules = ["    - { id: system-error, kind: systemError, repeatIntervalMs: 600000 }"];
    fake.thread("th-1", { targetId: "alice", status: "systemError", statusSinceMs: T0 });
    const e = await engine(await config(rules));
    await step(e, T0 + WAIT);
    await step(e, T0 + WAIT + 10 * MIN - 1);
    expect(messages()).toEqual([["firing", [["new", "th-1"]]]]);
    await step(e, T0 + WAIT + 10 * MIN);
    expect(messages()).toEqual([
      ["firing", [["new", "th-1"]]],
      ["firing", [["firing", "th-1"]]],
    ]);
    const id = e.openViews()[0]?.id as string;
    expect((await e.acknowledge(id, { name: "dana", role: null })).ok).toBe(true);
    await step(e, T0 + WAIT + 20 * MIN);
    await step(e, T0 + WAIT + 30 * MIN);
    expect(receiver.received).toHaveLength(2);
    // Its resolve is still heard.
    fake.thread("th-1", { status: "idle" });
    await step(e, T0 + WAIT + 31 * MIN);
    expect(messages().at(-1)).toEqual(["resolved", [["resolved", "th-1"]]]);
    expect(bodies().at(-1)?.members[0]?.alert.ackBy).toBe("dana");
  });

  it("does give an alert firing from before grouping its group at start, once, so its resolve is heard", async () => {
    fake.thread("th-2", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    let e = await engine();
    await step(e, T0 + WAIT);
    // As after the upgrade: the alert fired (and was notified per alert), no group exists yet.
    await e.stop();
    await db.pool.query("TRUNCATE notification_group, notification_delivery");
    receiver.received.length = 0;
    now = T0 + 10 * MIN;
    e = await engine();
    await step(e, T0 + 10 * MIN + WAIT);
    expect(messages()).toEqual([["firing", [["new", "th-2"]]]]);
    // Another start creates nothing more.
    e = await restart(e);
    await step(e, T0 + 20 * MIN + WAIT);
    expect(receiver.received).toHaveLength(1);
    fake.thread("th-2", { status: "idle" });
    await step(e, T0 + 21 * MIN);
    expect(messages().at(-1)).toEqual(["resolved", [["resolved", "th-2"]]]);
  });

  it("does route groups to named receivers by matchers", async () => {
    fake.thread("th-1", { targetId: "alice", status: "systemError", statusSinceMs: T0 });
    fake.thread("th-9", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const text = [
      "targets:",
      "  - { name: alice, team: payments, url: 'ws://127.0.0.1:1', tokenEnv: ALICE_TOKEN }",
      "  - { name: bob, team: search, url: 'ws://127.0.0.1:2' }",
      "alerts:",
      "  settleMs: 0",
      "  rules:",
      "    - { id: system-error, kind: systemError }",
      "  route:",
      "    receiver: hook",
      "    groupWaitMs: 1000",
      "    routes:",
      "      - { matchers: { team: payments }, receiver: pager }",
      "  notify:",
      `    - { type: webhook, name: hook, url: '${receiver.url}' }`,
      `    - { type: webhook, name: pager, url: '${pager.url}' }`,
    ].join("\n");
    const cfg = (await loadFile(text, { env: { ALICE_TOKEN } })).config;
    const e = await engine(cfg, {
      receivers: [groupHook("hook", receiver.url), groupHook("pager", pager.url)],
    });
    await step(e, T0 + 1000);
    expect(bodies(pager).map((b) => b.members.map((m) => m.alert.subjectId))).toEqual([["th-1"]]);
    expect(bodies(receiver).map((b) => b.members.map((m) => m.alert.subjectId))).toEqual([["th-9"]]);
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
    await step(e, T0 + WAIT);
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
    now = T0 + WAIT;
    e.dispatcher.kick();
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

  it("does fail, not send, a per-alert notification queued before the upgrade to grouping", async () => {
    await db.pool.query(
      `INSERT INTO notification_delivery (alert_id, notification_id, notifier, event, payload, state, next_attempt_at)
       VALUES ('a-old', 'a-old:firing:1', 'hook', 'firing', '{"version":1,"id":"a-old:firing:1"}', 'pending', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC')`,
      [T0 - 1000],
    );
    const e = await engine();
    await e.dispatcher.idle();
    expect(receiver.received).toEqual([]);
    expect((await listDeliveries({ pool: db.pool })).map((d) => [d.state, d.error])).toEqual([
      ["failed", "per-alert notification from before grouped notifications: not sent"],
    ]);
  });

  it("does refuse a deposed leader's flush and let the new leader flush the group once", async () => {
    const lease = async (holder: string) => {
      const [held] = await acquireLeases({
        pool: db.pool,
        holder,
        holderName: holder,
        names: ["alerts"],
        ttlMs: 600_000,
      });
      if (!held) throw new Error(`${holder} did not get the lease`);
      return { name: "alerts", holder, token: held.token };
    };
    fake.thread("th-2", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const first = await engine(undefined, { fence: await lease("first") });
    expect((await listGroups({ pool: db.pool })).map((g) => [g.receiver, g.nextFlushAtMs])).toEqual([
      ["hook", T0 + WAIT],
    ]);
    // The lease passes to another collector while the first still believes it leads.
    await expireLeasesOf({ pool: db.pool, holders: ["first"] });
    const second = await engine(undefined, { fence: await lease("second") });
    now = T0 + WAIT;
    await expect(first.flushGroups()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await listDeliveries({ pool: db.pool })).toEqual([]);
    await second.flushGroups();
    await second.flushGroups();
    second.dispatcher.kick();
    await second.dispatcher.idle();
    expect(messages()).toEqual([["firing", [["new", "th-2"]]]]);
    expect((await listGroups({ pool: db.pool })).map((g) => [g.seq, g.notified.length])).toEqual([[1, 1]]);
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
    await step(e, T0 + 2 * MIN + WAIT);

    fake = new FakeFleet();
    fake.target("alice", "payments", { state: "connecting", reason: null, sinceMs: T0 + 3 * MIN });
    fake.target("bob", "search", { state: "open", sinceMs: T0 }, T0);
    e = await restart(e);
    await step(e, T0 + 3 * MIN);
    expect(await open()).toEqual([["target-down", "alice", "firing"]]);

    fake.target("alice", "payments", { state: "open", sinceMs: T0 + 4 * MIN }, T0 + 4 * MIN);
    await step(e, T0 + 4 * MIN);
    expect(await open()).toEqual([]);
    await step(e, T0 + 2 * MIN + WAIT + 5 * MIN);
    expect(messages()).toEqual([
      ["firing", [["new", "alice"]]],
      ["resolved", [["resolved", "alice"]]],
    ]);
    expect(bodies()[0]?.members[0]?.dashboardUrl).toBe("https://fleet.example.com/alerts?state=all");
  });

  it("does count a failed turn from the event, and from the turn table after a restart", async () => {
    const failed = failedTurn("th-f", "turn-f");
    let e = await engine();
    fake.event("alice", failed);
    await step(e, T0 + 1000);
    expect(await open()).toEqual([["turn-failed", "alice", "firing"]]);
    await step(e, T0 + 1000 + WAIT);
    expect(bodies()[0]?.members[0]?.alert).toMatchObject({
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
    await step(e, T0 + 11 * MIN);
    expect(bodies().map((b) => b.status)).toEqual(["firing", "resolved"]);
  });

  it("forgets a deleted target's failed turns (its threads left memory: nothing to judge them by)", async () => {
    const e = await engine();
    fake.event("alice", failedTurn("th-a", "turn-a"));
    fake.event("bob", failedTurn("th-b", "turn-b"));
    await step(e, T0 + 1000);
    expect((await open()).sort()).toEqual([
      ["turn-failed", "alice", "firing"],
      ["turn-failed", "bob", "firing"],
    ]);
    // alice is deleted (her threads were never held here); bob stays. Both failures are within
    // the rule's 10-minute window: only bob's still counts.
    fake.targets.delete("alice");
    await step(e, T0 + 2 * MIN);
    expect(await open()).toEqual([["turn-failed", "bob", "firing"]]);
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
    await step(e, T0 + WAIT);
    expect(await open()).toEqual([["budget", "payments", "firing"]]);
    expect(bodies()[0]?.members[0]?.alert.summary).toBe(
      "team payments spent $55.00 today (UTC), budget $50.00",
    );
    await step(e, day + 86_400_000 + MIN);
    expect(await open()).toEqual([]);
  });

  it("does resolve, with a notification, the alerts of a rule removed from the config", async () => {
    fake.thread("th-2", { targetId: "bob", status: "systemError", statusSinceMs: T0 });
    const e = await engine();
    await step(e, T0 + WAIT);
    const without = await config(DEFAULT_RULES.filter((r) => !r.includes("system-error")));
    now = T0 + 10 * MIN;
    const e2 = await restart(e, without);
    await step(e2, T0 + 10 * MIN);
    expect(await open()).toEqual([]);
    expect(bodies().map((b) => b.status)).toEqual(["firing", "resolved"]);
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
