/**
 * The receiver API through the real collector (createCollector, real config loader, real
 * Postgres, auth on): list receivers (viewer; names and types only), send a test message (admin
 * only; one attempt, straight to the receiver — here real local PagerDuty and Teams stand-ins),
 * 404 naming an unknown receiver, and no URL or key ever in a response or a log line.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { ReceiverListSchema, ReceiverTestResultSchema } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, AUTH_ON_YAML, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";
import {
  type FakePagerDuty,
  type FakeTeams,
  startPagerDuty,
  startTeamsWorkflow,
} from "./support/receiver-apis.ts";

const ROUTING_KEY = "PDr0ut1ngKEY0123456789abcdefABCD";
const TEAMS_SIG = "teams-sig-9f8e7d6c5b";

let testDb: TestDatabase;
let fleet: AuthApp;
let pd: FakePagerDuty;
let teams: FakeTeams;

beforeAll(async () => {
  [testDb, pd, teams] = await Promise.all([
    createTestDatabase(),
    startPagerDuty(ROUTING_KEY),
    startTeamsWorkflow(TEAMS_SIG),
  ]);
  const yaml = [
    AUTH_ON_YAML,
    "alerts:",
    "  notify:",
    `    - { name: oncall-pd, type: pagerduty, url: '${pd.url}/v2/enqueue', routingKeyEnv: PD_KEY, maxAttempts: 5 }`,
    `    - { name: chat, type: teams, url: '${teams.webhookUrl}' }`,
    `    - { type: alertmanager, url: '${pd.url}/nowhere' }`,
  ].join("\n");
  fleet = await startAuthApp({ db: testDb, yaml, env: { PD_KEY: ROUTING_KEY } });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await Promise.all([pd?.close(), teams?.close()]);
  await testDb?.drop();
  await removeScratchDirs();
});

beforeEach(() => {
  pd.received.length = 0;
  pd.events.length = 0;
  pd.script();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(ROUTING_KEY);
  expect(text).not.toContain(TEAMS_SIG);
  expect(text).not.toContain(pd.url);
  expect(text).not.toContain(teams.url);
}

describe("receiver API", () => {
  it("does list receivers by name and type for a viewer, without URLs or keys", async () => {
    const res = await fleet.app.inject({
      method: "GET",
      url: "/api/v1/alerts/receivers",
      headers: as(VIEWER_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    const list = ReceiverListSchema.parse(res.json());
    expect(list.receivers.map((r) => r.type)).toEqual(["pagerduty", "teams", "alertmanager"]);
    expect(list.receivers[0]?.name).toBe("oncall-pd");
    expect(list.receivers[1]?.name).toBe("chat");
    expect(list.receivers[2]?.name).toMatch(/^alertmanager-[0-9a-f]{8}$/);
    expect(Object.keys(list.receivers[0] ?? {})).toEqual(["name", "type"]);
    expectNoSecrets(res.body);
  });

  it("does refuse the list without a sign-in", async () => {
    const res = await fleet.app.inject({ method: "GET", url: "/api/v1/alerts/receivers" });
    expect(res.statusCode).toBe(401);
  });

  it("does refuse a test from a viewer (admin only) and send nothing", async () => {
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/alerts/receivers/oncall-pd/test",
      headers: as(VIEWER_TOKEN),
    });
    expect(res.statusCode).toBe(403);
    expect(pd.received).toHaveLength(0);
  });

  it("does send one test message now for an admin and answer what the receiver said", async () => {
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/alerts/receivers/oncall-pd/test",
      headers: as(ADMIN_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    const result = ReceiverTestResultSchema.parse(res.json());
    expect(result).toMatchObject({ ok: true, status: 202, error: null });
    expect(pd.events.map((e) => e.event_action)).toEqual(["trigger", "resolve"]);
    const trigger = pd.events[0];
    expect(trigger?.event_action === "trigger" && trigger.payload.summary).toMatch(/^\[TEST\] /);
    expectNoSecrets(res.body);
  });

  it("does make one attempt only (no retries, not the outbox) and report the failure without secrets", async () => {
    pd.script({ status: 503, body: { message: `overloaded for ${ROUTING_KEY}` } });
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/alerts/receivers/oncall-pd/test",
      headers: as(ADMIN_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    expect(ReceiverTestResultSchema.parse(res.json())).toMatchObject({ ok: false, status: 503 });
    expect(pd.received).toHaveLength(1);
    expectNoSecrets(res.body);
  });

  it("does send an Adaptive Card to a Teams receiver", async () => {
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/alerts/receivers/chat/test",
      headers: as(ADMIN_TOKEN),
    });
    expect(res.json()).toMatchObject({ ok: true, status: 202 });
    expect(teams.messages.at(-1)?.attachments[0]?.content.type).toBe("AdaptiveCard");
  });

  it("does answer 404 naming an unknown receiver", async () => {
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/alerts/receivers/nobody/test",
      headers: as(ADMIN_TOKEN),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: "NOT_FOUND", message: "receiver nobody not found" } });
  });

  it("does never write a receiver's URL or key to the log", () => {
    expect(fleet.logs.some((l) => l.includes("test notification sent"))).toBe(true);
    expectNoSecrets(fleet.logs.join("\n"));
  });
});
