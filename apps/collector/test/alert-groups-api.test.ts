/**
 * GET /api/v1/alerts/groups through `app.inject`, over a real Postgres database and the real
 * alert engine (fake fleet state, injected clock): groups by rule and team, their receivers,
 * severity, counts and member order; `state=all` adds resolved alerts; 400s name the parameter.
 */

import { startTestReceiver, type TestReceiver } from "@codex-fleet/codex-fakes/notification-receiver";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { AlertGroupListSchema } from "@codex-fleet/protocol/api";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { registerAlertGroupRoutes } from "../src/alerts/group-routes.ts";
import { type InstalledAlerts, installAlerts } from "../src/alerts/install.ts";
import { installErrorHandlers } from "../src/http/errors.ts";
import { LiveHub } from "../src/live/hub.ts";
import { createLogger } from "../src/logger.ts";
import { FakeFleet, MIN, T0 } from "./support/alert-fixtures.ts";
import { loadFile, removeScratchDirs } from "./support/config-files.ts";

type AlertGroupList = ReturnType<typeof AlertGroupListSchema.parse>;

let testDb: TestDatabase;
let receiver: TestReceiver;
let db: Db;
let now = T0;
let fake: FakeFleet;
let alerts: InstalledAlerts;
let app: FastifyInstance;
let hub: LiveHub;

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
  await db.pool.query("TRUNCATE alert, silence, notification_delivery");
  now = T0;
  fake = new FakeFleet();
  for (const [name, team] of [
    ["alice", "payments"],
    ["carol", "payments"],
    ["bob", "search"],
  ] as const)
    fake.target(name, team, { state: "open", sinceMs: T0 - 60 * MIN }, T0 - 60 * MIN);
  const systemError = {
    status: "systemError",
    statusSinceMs: T0 - MIN,
    lastCodexErrorInfo: "other",
  } as const;
  fake.thread("th-bob", { targetId: "bob", ...systemError });
  fake.thread("th-carol", { targetId: "carol", ...systemError });
  fake.thread("th-alice", {
    targetId: "alice",
    status: "active",
    activeFlags: ["waitingOnApproval"],
    statusSinceMs: T0,
  });
  const { config } = await loadFile(
    [
      "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }, { name: carol, team: payments, url: 'ws://127.0.0.1:3' }, { name: bob, team: search, url: 'ws://127.0.0.1:2' }]",
      "alerts:",
      "  settleMs: 0",
      "  rules:",
      "    - { id: approval-wait, kind: waitingOnApproval, forMs: 300000 }",
      "    - { id: system-error, kind: systemError, severity: critical }",
      "  notify:",
      `    - { type: webhook, name: hook, url: '${receiver.url}' }`,
      `    - { type: slack, name: chat, url: '${receiver.url}' }`,
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
  hub = new LiveHub({ snapshot: () => ({ targets: [], threads: [], alerts: alerts.openViews() }) });
  alerts.plugin(app, hub);
  await app.ready();
  await alerts.start();
  await alerts.engine?.dispatcher.idle();
});

afterEach(async () => {
  await alerts.stop();
  hub.close();
  await app.close();
});

async function groups(query = ""): Promise<AlertGroupList> {
  const res = await app.inject({ method: "GET", url: `/api/v1/alerts/groups${query}` });
  expect(res.statusCode).toBe(200);
  return AlertGroupListSchema.parse(res.json());
}

/** Each group as [labels, severity, counts, receivers, member subjects]. */
const summary = (list: AlertGroupList) =>
  list.groups.map((g) => [
    g.labels,
    g.severity,
    [g.counts.firing, g.counts.pending, g.counts.resolved],
    g.receivers,
    g.alerts.map((a) => `${a.subjectId}:${a.state}`),
  ]);

async function evaluateAt(atMs: number): Promise<void> {
  now = atMs;
  await alerts.engine?.evaluate();
}

describe("GET /api/v1/alerts/groups", () => {
  it("does group open alerts by rule and team, most severe first, routed to every receiver", async () => {
    expect(summary(await groups())).toEqual([
      [
        { ruleId: "system-error", team: "payments" },
        "critical",
        [1, 0, 0],
        ["hook", "chat"],
        ["th-carol:firing"],
      ],
      [
        { ruleId: "system-error", team: "search" },
        "critical",
        [1, 0, 0],
        ["hook", "chat"],
        ["th-bob:firing"],
      ],
      [
        { ruleId: "approval-wait", team: "payments" },
        "warning",
        [0, 1, 0],
        ["hook", "chat"],
        ["th-alice:pending"],
      ],
    ]);
  });

  it("does put firing members first, newest first, and count them", async () => {
    await evaluateAt(T0 + 2 * MIN);
    fake.thread("th-alice-2", {
      targetId: "alice",
      status: "active",
      activeFlags: ["waitingOnApproval"],
      statusSinceMs: T0 + 2 * MIN,
    });
    fake.thread("th-carol-2", {
      targetId: "carol",
      status: "active",
      activeFlags: ["waitingOnApproval"],
      statusSinceMs: T0 + 3 * MIN,
    });
    await evaluateAt(T0 + 6 * MIN);
    const approval = (await groups()).groups.find((g) => g.labels.ruleId === "approval-wait");
    expect(approval?.counts).toEqual({ firing: 1, pending: 2, resolved: 0 });
    expect(approval?.alerts.map((a) => `${a.subjectId}:${a.state}`)).toEqual([
      "th-alice:firing",
      "th-carol-2:pending",
      "th-alice-2:pending",
    ]);
  });

  it("does leave resolved alerts out by default and add them with state=all", async () => {
    fake.thread("th-carol", { status: "idle" });
    await evaluateAt(T0 + MIN);
    const open = await groups("?state=open");
    expect(open.groups.map((g) => g.key)).toEqual([
      JSON.stringify([
        ["ruleId", "system-error"],
        ["team", "search"],
      ]),
      JSON.stringify([
        ["ruleId", "approval-wait"],
        ["team", "payments"],
      ]),
    ]);
    const all = await groups("?state=all");
    const carol = all.groups.find((g) => g.labels.ruleId === "system-error" && g.labels.team === "payments");
    expect(carol?.counts).toEqual({ firing: 0, pending: 0, resolved: 1 });
    // Only resolved members: the severity is theirs.
    expect(carol?.severity).toBe("critical");
    expect(all.groups.flatMap((g) => g.alerts).map((a) => a.id)).toHaveLength(3);
  });

  it("does ask the injected router for each group's receivers and honour groupBy", async () => {
    const other = Fastify();
    installErrorHandlers(other);
    const seen: unknown[] = [];
    registerAlertGroupRoutes(other, {
      // biome-ignore lint/style/noNonNullAssertion: alerts are enabled in this config.
      engine: alerts.engine!,
      pool: db.pool,
      groupBy: ["team"],
      receiversFor: (labels) => {
        seen.push(labels);
        return labels.team === "search" ? ["search-pager"] : [];
      },
    });
    const res = await other.inject({ method: "GET", url: "/api/v1/alerts/groups" });
    const body = AlertGroupListSchema.parse(res.json());
    expect(body.groups.map((g) => [g.labels, g.severity, g.receivers, g.alerts.length])).toEqual([
      [{ team: "payments" }, "critical", [], 2],
      [{ team: "search" }, "critical", ["search-pager"], 1],
    ]);
    // Asked per member with all its labels (a route may match on any of them, not only groupBy).
    expect(seen.map((l) => (l as { team?: string; threadId?: string }).team)).toEqual([
      "payments",
      "payments",
      "search",
    ]);
    expect(seen.every((l) => typeof (l as { ruleId?: string }).ruleId === "string")).toBe(true);
    await other.close();
  });

  it("does take a group's severity from its open members, resolved ones only when none is open", async () => {
    const byTeam = Fastify();
    installErrorHandlers(byTeam);
    // biome-ignore lint/style/noNonNullAssertion: alerts are enabled in this config.
    registerAlertGroupRoutes(byTeam, { engine: alerts.engine!, pool: db.pool, groupBy: ["team"] });
    fake.thread("th-carol", { status: "idle" });
    fake.thread("th-bob", { status: "idle" });
    await evaluateAt(T0 + MIN);
    const res = await byTeam.inject({ method: "GET", url: "/api/v1/alerts/groups?state=all" });
    const body = AlertGroupListSchema.parse(res.json());
    expect(body.groups.map((g) => [g.labels.team, g.severity, g.counts])).toEqual([
      // search: only a resolved critical alert.
      ["search", "critical", { firing: 0, pending: 0, resolved: 1 }],
      // payments: the resolved critical one no longer counts against the open warning.
      ["payments", "warning", { firing: 0, pending: 1, resolved: 1 }],
    ]);
    await byTeam.close();
  });

  it.each([
    ["an unknown state", "?state=firing", "state"],
    ["an unknown parameter", "?team=payments", "team"],
  ])("does answer 400 naming the parameter for %s", async (_name, query, param) => {
    const res = await app.inject({ method: "GET", url: `/api/v1/alerts/groups${query}` });
    expect([res.statusCode, res.json().error.code, res.json().error.param]).toEqual([
      400,
      "BAD_PARAMETER",
      param,
    ]);
  });
});
