/**
 * The alert API through `app.inject`, over a real Postgres database, a real local receiver and
 * the real live hub: list and filter, acknowledge, rules, silences, and 400s that name the bad
 * parameter.
 */

import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AlertView, SilenceView } from "@codex-fleet/protocol/api";
import type { LiveMessage } from "@codex-fleet/protocol/live";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type InstalledAlerts, installAlerts } from "../src/alerts/install.ts";
import { installAudit } from "../src/audit/audit.ts";
import { installErrorHandlers } from "../src/http/errors.ts";
import { LiveHub } from "../src/live/hub.ts";
import { createLogger } from "../src/logger.ts";
import { FakeFleet, MIN, T0 } from "./support/alert-fixtures.ts";
import { loadFile, removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let db: Db;
let receiver: TestReceiver;
let now = T0;
let fake: FakeFleet;
let alerts: InstalledAlerts;
let app: FastifyInstance;
let hub: LiveHub;
let live: LiveMessage[];

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
  await db.pool.query("TRUNCATE alert, silence, notification_delivery, notification_group");
  receiver.received.length = 0;
  now = T0;
  fake = new FakeFleet();
  fake.target("alice", "payments", { state: "open", sinceMs: T0 - 60 * MIN }, T0 - 60 * MIN);
  fake.target("bob", "search", { state: "open", sinceMs: T0 - 60 * MIN }, T0 - 60 * MIN);
  fake.thread("th-bob", {
    targetId: "bob",
    status: "systemError",
    statusSinceMs: T0 - MIN,
    lastCodexErrorInfo: "other",
  });
  fake.thread("th-alice", {
    targetId: "alice",
    status: "active",
    activeFlags: ["waitingOnApproval"],
    statusSinceMs: T0,
  });
  const { config } = await loadFile(
    [
      "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }, { name: bob, team: search, url: 'ws://127.0.0.1:2' }]",
      "alerts:",
      "  settleMs: 0",
      "  rules:",
      "    - { id: approval-wait, kind: waitingOnApproval, forMs: 300000 }",
      "    - { id: system-error, kind: systemError, severity: critical }",
      "    - { id: target-down, kind: targetUnreachable, forMs: 0 }",
      "  notify:",
      `    - { type: webhook, name: hook, url: '${receiver.url}', minBackoffMs: 10, maxBackoffMs: 20 }`,
    ].join("\n"),
  );
  alerts = installAlerts({
    fleet: fake.fleet,
    pool: db.pool,
    config,
    log: createLogger({ level: "silent" }),
    publicUrl: "http://127.0.0.1:8080",
    now: () => now,
    timers: false,
  });
  app = Fastify();
  installErrorHandlers(app);
  // The change routes record themselves in the audit log (buildApp installs it the same way).
  installAudit(app, { pool: db.pool, log: createLogger({ level: "silent" }), now: () => now });
  hub = new LiveHub(
    { snapshot: () => ({ targets: [], threads: [], alerts: alerts.openViews() }) },
    { tickMs: 1 },
  );
  live = [];
  alerts.plugin(app, hub);
  await app.ready();
  await alerts.start();
  await alerts.engine?.dispatcher.idle();
  hub.add({
    send: (data: string) => live.push(JSON.parse(data) as LiveMessage),
    close: () => {},
    bufferedAmount: 0,
  });
});

afterEach(async () => {
  await alerts.stop();
  hub.close();
  await app.close();
});

async function call<T = unknown>(method: "GET" | "POST" | "DELETE", url: string, payload?: unknown) {
  const res = await app.inject({ method, url, payload: payload as Record<string, unknown> | undefined });
  return {
    status: res.statusCode,
    body: res.body.startsWith("{") || res.body.startsWith("[") ? (res.json() as T) : (res.body as T),
  };
}

async function evaluateAt(atMs: number): Promise<void> {
  now = atMs;
  await alerts.engine?.evaluate();
  // Flush the alert groups due now (issue 16), then deliver.
  alerts.engine?.dispatcher.kick();
  await alerts.engine?.dispatcher.idle();
}

/** The rule ids of each group message queued, in order (the outbox, whatever a receiver's format). */
async function queuedRuleIds(): Promise<string[][]> {
  const { rows } = await db.pool.query<{ payload: { members: { alert: { ruleId: string } }[] } }>(
    "SELECT payload FROM notification_delivery ORDER BY id",
  );
  return rows.map((r) => r.payload.members.map((m) => m.alert.ruleId));
}

const liveAlerts = () =>
  live.flatMap((m) =>
    m.type === "alert" ? [[m.alert.ruleId, m.alert.state, m.alert.silenced] as const] : [],
  );

describe("GET /api/v1/alerts", () => {
  it.each<[string, string, [string, string][]]>([
    [
      "does list every alert, newest first",
      "",
      [
        ["approval-wait", "pending"],
        ["system-error", "firing"],
      ],
    ],
    ["does filter by state", "?state=firing", [["system-error", "firing"]]],
    [
      "does filter by several states",
      "?state=firing,pending",
      [
        ["approval-wait", "pending"],
        ["system-error", "firing"],
      ],
    ],
    ["does filter by rule", "?rule=approval-wait", [["approval-wait", "pending"]]],
    ["does filter by target", "?target=bob", [["system-error", "firing"]]],
    ["does filter by team", "?team=payments", [["approval-wait", "pending"]]],
    ["does filter by thread", "?thread=th-alice", [["approval-wait", "pending"]]],
    ["does filter by kind", "?kind=systemError&limit=1", [["system-error", "firing"]]],
    ["does return nothing that does not match", "?state=resolved", []],
  ])("%s", async (_name, query, want) => {
    const { status, body } = await call<AlertView[]>("GET", `/api/v1/alerts${query}`);
    expect(status).toBe(200);
    expect(body.map((a) => [a.ruleId, a.state])).toEqual(want);
  });

  it("does show the alerts of a down target's threads as inhibited (built-in rule), and no others", async () => {
    const inhibited = async () =>
      (await call<AlertView[]>("GET", "/api/v1/alerts?state=firing")).body.map((a) => [
        a.ruleId,
        a.inhibited,
      ]);
    expect(await inhibited()).toEqual([["system-error", false]]);
    fake.target("bob", "search", {
      state: "backoff",
      reason: "refused",
      error: "ECONNREFUSED",
      sinceMs: T0 + MIN,
    });
    await evaluateAt(T0 + MIN);
    expect(await inhibited()).toEqual([
      ["target-down", false],
      ["system-error", true],
    ]);
    expect(alerts.openViews().find((a) => a.ruleId === "system-error")?.inhibited).toBe(true);
  });

  it("does export CSV", async () => {
    const { body } = await call<string>("GET", "/api/v1/alerts?format=csv&state=firing");
    const [header, row] = body.split("\r\n");
    expect(header).toBe(
      "id,ruleId,kind,severity,state,subjectType,subjectId,group,target,threadId,team,summary,pendingSince,firingSince,resolvedAt,ackBy,ackAt,silenced,ackRole",
    );
    expect(row).toContain(",system-error,systemError,critical,firing,thread,th-bob,,bob,th-bob,search,");
  });

  it.each([
    ["an unknown state", "?state=open", "state"],
    ["an unknown parameter", "?severity=critical", "severity"],
    ["a repeated parameter", "?rule=a&rule=b", "rule"],
    ["a zero limit", "?limit=0", "limit"],
    ["an unknown format", "?format=xml", "format"],
  ])("does answer 400 naming the parameter for %s", async (_name, query, param) => {
    const { status, body } = await call<{ error: { param: string; code: string } }>(
      "GET",
      `/api/v1/alerts${query}`,
    );
    expect([status, body.error.code, body.error.param]).toEqual([400, "BAD_PARAMETER", param]);
  });
});

describe("GET /api/v1/alerts/rules", () => {
  it("does list the rules in force with their thresholds", async () => {
    const { body } = await call<Record<string, unknown>[]>("GET", "/api/v1/alerts/rules");
    expect(body).toEqual([
      {
        id: "approval-wait",
        kind: "waitingOnApproval",
        forMs: 300_000,
        severity: "warning",
        enabled: true,
        repeatIntervalMs: 3_600_000,
        source: "config",
      },
      {
        id: "system-error",
        kind: "systemError",
        forMs: 0,
        severity: "critical",
        enabled: true,
        repeatIntervalMs: 3_600_000,
        source: "config",
      },
      {
        id: "target-down",
        kind: "targetUnreachable",
        forMs: 0,
        severity: "warning",
        enabled: true,
        repeatIntervalMs: 3_600_000,
        source: "config",
      },
    ]);
  });
});

describe("POST /api/v1/alerts/:id/ack", () => {
  async function firingId(): Promise<string> {
    const { body } = await call<AlertView[]>("GET", "/api/v1/alerts?state=firing");
    return body[0]?.id ?? "";
  }

  it("does record who acknowledged and when, and push it to the live feed", async () => {
    now = T0 + MIN;
    const id = await firingId();
    const { status, body } = await call<AlertView>("POST", `/api/v1/alerts/${id}/ack`, { by: "ops" });
    expect([status, body.ackBy, body.ackAt]).toEqual([200, "ops", new Date(T0 + MIN).toISOString()]);
    const stored = await call<AlertView[]>("GET", "/api/v1/alerts?state=firing");
    expect(stored.body[0]?.ackBy).toBe("ops");
    await new Promise((r) => setTimeout(r, 20));
    expect(live.some((m) => m.type === "alert" && m.alert.id === id && m.alert.ackBy === "ops")).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ["a missing body field", {}, "by"],
    ["an empty name", { by: "  " }, "by"],
    ["an unknown field", { by: "ops", note: "x" }, "note"],
  ])("does answer 400 naming the field for %s", async (_name, payload, param) => {
    const { status, body } = await call<{ error: { param: string } }>(
      "POST",
      `/api/v1/alerts/${await firingId()}/ack`,
      payload,
    );
    expect([status, body.error.param]).toEqual([400, param]);
  });

  it("does answer 404 for an unknown alert and 409 for a resolved one", async () => {
    expect((await call("POST", "/api/v1/alerts/nope/ack", { by: "ops" })).status).toBe(404);
    const id = await firingId();
    fake.thread("th-bob", { status: "idle" });
    await evaluateAt(T0 + MIN);
    const { status, body } = await call<{ error: { code: string } }>("POST", `/api/v1/alerts/${id}/ack`, {
      by: "ops",
    });
    expect([status, body.error.code]).toEqual([409, "CONFLICT"]);
  });
});

describe("silences", () => {
  const silenceAlice = {
    matchers: { target: "alice" },
    endsAt: new Date(T0 + 60 * MIN).toISOString(),
    comment: "deploy",
    createdBy: "ops",
  };

  it("does hold back the notification of an alert that fires while silenced, and send it once the silence is expired", async () => {
    const created = await call<SilenceView>("POST", "/api/v1/silences", silenceAlice);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      matchers: { target: "alice" },
      createdBy: "ops",
      comment: "deploy",
      createdAt: new Date(T0).toISOString(),
    });
    expect((await call<SilenceView[]>("GET", "/api/v1/silences")).body.map((s) => s.id)).toEqual([
      created.body.id,
    ]);

    await evaluateAt(T0 + 5 * MIN);
    const firing = (await call<AlertView[]>("GET", "/api/v1/alerts?rule=approval-wait")).body[0];
    expect([firing?.state, firing?.silenced]).toEqual(["firing", true]);
    // Only bob's system error (fired at start, not silenced) was notified (after its groupWait).
    expect(await queuedRuleIds()).toEqual([["system-error"]]);

    now = T0 + 6 * MIN;
    const expired = await call<SilenceView>("DELETE", `/api/v1/silences/${created.body.id}`);
    expect([expired.status, expired.body.endsAt]).toEqual([200, new Date(T0 + 6 * MIN).toISOString()]);
    await evaluateAt(T0 + 6 * MIN + 30_000);
    expect(await queuedRuleIds()).toEqual([["system-error"], ["approval-wait"]]);
    expect((await call<SilenceView[]>("GET", "/api/v1/silences")).body).toEqual([]);
    expect(
      (await call<SilenceView[]>("GET", "/api/v1/silences?state=expired")).body.map((s) => s.id),
    ).toEqual([created.body.id]);
    await new Promise((r) => setTimeout(r, 20));
    expect(liveAlerts()).toEqual(
      expect.arrayContaining([
        ["approval-wait", "firing", true],
        ["approval-wait", "firing", false],
      ]),
    );
  });

  it.each<[string, unknown, string]>([
    ["no matcher", { ...silenceAlice, matchers: {} }, "matchers"],
    ["an unknown matcher", { ...silenceAlice, matchers: { targetId: "alice" } }, "matchers.targetId"],
    ["an end in the past", { ...silenceAlice, endsAt: new Date(T0 - 1).toISOString() }, "endsAt"],
    ["an unreadable end", { ...silenceAlice, endsAt: "tomorrow" }, "endsAt"],
    [
      "an end over a year ahead",
      { ...silenceAlice, endsAt: new Date(T0 + 400 * 86_400_000).toISOString() },
      "endsAt",
    ],
    ["no author", { ...silenceAlice, createdBy: undefined }, "createdBy"],
  ])("does answer 400 naming the field for %s", async (_name, payload, param) => {
    const { status, body } = await call<{ error: { param: string } }>("POST", "/api/v1/silences", payload);
    expect([status, body.error.param]).toEqual([400, param]);
  });

  it("does refuse a query parameter on a change, and change nothing, on a bare instance too", async () => {
    const { status, body } = await call<{ error: { param: string; message: string } }>(
      "POST",
      "/api/v1/silences?force=1",
      silenceAlice,
    );
    expect([status, body.error.param, body.error.message]).toEqual([
      400,
      "force",
      "force: unknown parameter (known: )",
    ]);
    expect((await call<SilenceView[]>("GET", "/api/v1/silences?state=all")).body).toEqual([]);
  });

  it("does answer 404 when expiring an unknown silence", async () => {
    expect((await call("DELETE", "/api/v1/silences/nope")).status).toBe(404);
  });
});

describe("live feed", () => {
  it("does include open alerts in the snapshot and push changes", async () => {
    const snapshots: LiveMessage[] = [];
    hub.add({
      send: (d: string) => snapshots.push(JSON.parse(d) as LiveMessage),
      close: () => {},
      bufferedAmount: 0,
    });
    const snap = snapshots[0];
    expect(snap?.type === "snapshot" && snap.alerts.map((a) => [a.ruleId, a.state])).toEqual([
      ["approval-wait", "pending"],
      ["system-error", "firing"],
    ]);
    await evaluateAt(T0 + 5 * MIN);
    fake.thread("th-alice", { status: "idle", activeFlags: [] });
    await evaluateAt(T0 + 6 * MIN);
    await new Promise((r) => setTimeout(r, 20));
    expect(liveAlerts()).toEqual([
      ["approval-wait", "firing", false],
      ["approval-wait", "resolved", false],
    ]);
  });
});
