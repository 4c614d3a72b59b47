/**
 * The audit log (issue 17) through the product's composition root on a real Postgres: every
 * change route writes one row with who, when, from which address and what (never a token);
 * GET /api/v1/audit filters by time, action and actor, newest first, as JSON or CSV, for admins
 * only; a failed audit write leaves the change made and is logged as an error. The alert is a real
 * one: "target unreachable" for a target whose port refuses connections.
 */
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AlertView } from "@codex-fleet/protocol/api";
import type { ApiKeyCreated, AuditEventView } from "@codex-fleet/protocol/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const YAML = [
  "server: { host: 127.0.0.1, port: 0, allowedHosts: [fleet.test] }",
  "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
  "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }]",
  "observer: { minBackoffMs: 50, maxBackoffMs: 200, connectTimeoutMs: 1000 }",
  "alerts:",
  "  evaluateIntervalMs: 100",
  "  rules:",
  "    - { id: target-down, kind: targetUnreachable, forMs: 0 }",
].join("\n");
const TARGET_TOKEN = "target-token-very-secret-123";
const START_MS = Date.parse("2026-12-06T12:00:00.000Z");

let testDb: TestDatabase;
let fleet: AuthApp;
let clockMs = START_MS;
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    yaml: YAML,
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
    now: () => clockMs,
  });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

/** A request as admin, one second after the last one (so that every row has its own time). */
async function change(
  method: "POST" | "PUT" | "DELETE",
  url: string,
  payload?: object,
  headers: Record<string, string> = ADMIN,
) {
  clockMs += 1000;
  const res = await fleet.app.inject({ method, url, payload, headers });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res;
}

async function audit(query = "", headers: Record<string, string> = ADMIN): Promise<AuditEventView[]> {
  const res = await fleet.app.inject({ url: `/api/v1/audit${query}`, headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe("audit rows for each change route", () => {
  let keyId = "";
  let silenceId = "";
  let alertId = "";

  beforeAll(async () => {
    // Sign in and out (a browser session).
    clockMs += 1000;
    const login = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/auth/login",
      payload: { token: VIEWER_TOKEN },
      headers: { origin: "http://fleet.test", host: "fleet.test" },
    });
    expect(login.statusCode).toBe(200);
    const cookie = [login.headers["set-cookie"] ?? []].flat().join("\n").split(";")[0] ?? "";
    await change("POST", "/api/v1/auth/logout", undefined, {
      cookie,
      origin: "http://fleet.test",
      host: "fleet.test",
    });

    await change("POST", "/api/v1/targets", { name: "bob", url: "ws://127.0.0.1:2", token: TARGET_TOKEN });
    await change("PUT", "/api/v1/targets/bob", { url: "ws://127.0.0.1:3", team: "core" });
    await change("DELETE", "/api/v1/targets/bob");

    const silence = await change("POST", "/api/v1/silences", {
      matchers: { target: "nobody" },
      endsAt: Date.now() + 3_600_000,
      createdBy: "ops",
    });
    silenceId = silence.json().id;
    await change("DELETE", `/api/v1/silences/${silenceId}`);

    await waitUntil(
      "target-down firing",
      async () => {
        const res = await fleet.app.inject({
          url: "/api/v1/alerts?state=firing&rule=target-down",
          headers: ADMIN,
        });
        alertId = (res.json() as AlertView[])[0]?.id ?? "";
        return alertId !== "";
      },
      20_000,
    );
    // Acknowledged with an API key: the key's name is who.
    const key = await change("POST", "/api/v1/keys", { name: "ci", role: "admin" });
    const created = key.json() as ApiKeyCreated;
    keyId = created.id;
    const ack = await change(
      "POST",
      `/api/v1/alerts/${alertId}/ack`,
      {},
      { authorization: `Bearer ${created.secret}` },
    );
    expect((ack.json() as AlertView).ackBy).toBe("ci");
    await change("DELETE", `/api/v1/keys/${keyId}`);
  }, 60_000);

  it("does write one row per change, newest first, with who, when and from where", async () => {
    // The start's record of the config file (audit-config.test.ts) is not a request's.
    const rows = (await audit()).filter((r) => r.action !== "config.change");
    expect(rows.map((r) => [r.action, r.subject])).toEqual([
      ["key.revoke", keyId],
      ["alert.ack", alertId],
      ["key.create", keyId],
      ["silence.expire", silenceId],
      ["silence.create", silenceId],
      ["target.delete", "bob"],
      ["target.update", "bob"],
      ["target.create", "bob"],
      ["auth.logout", "viewer token"],
      ["auth.login", "viewer token"],
    ]);
    const times = rows.map((r) => Date.parse(r.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(times.at(-1)).toBe(START_MS + 1000);
    for (const row of rows) expect(row.ip).toBe("127.0.0.1");
    expect(rows.find((r) => r.action === "auth.login")?.principal).toEqual({
      kind: "token",
      name: "viewer token",
      email: null,
    });
    expect(rows.find((r) => r.action === "target.create")?.principal).toEqual({
      kind: "token",
      name: "admin token",
      email: null,
    });
  });

  it("does record what changed and never a token or a key's secret", async () => {
    const rows = await audit();
    const detail = (action: string) => rows.find((r) => r.action === action)?.detail;
    expect(detail("target.create")).toEqual({
      url: "ws://127.0.0.1:2",
      team: "",
      labels: {},
      allowInsecure: false,
      token: "set",
    });
    expect(detail("target.update")).toMatchObject({ url: "ws://127.0.0.1:3", team: "core", token: "kept" });
    expect(detail("silence.create")).toMatchObject({ matchers: { target: "nobody" }, createdBy: "ops" });
    expect(detail("alert.ack")).toEqual({ by: "ci", role: "admin" });
    expect(rows.find((r) => r.action === "alert.ack")?.principal).toEqual({
      kind: "apiKey",
      name: "ci",
      email: null,
    });
    expect(detail("key.create")).toEqual({ name: "ci", role: "admin", expiresAt: null });
    const { rows: all } = await fleet.db.pool.query<{ t: string }>(
      "SELECT audit_event::text AS t FROM audit_event",
    );
    const text = all.map((r) => r.t).join("\n");
    expect(text).not.toContain(TARGET_TOKEN);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain(VIEWER_TOKEN);
    expect(text).not.toContain("cfk_");
  });

  it("does filter by action, actor, time and limit", async () => {
    expect((await audit("?action=target.create,target.delete")).map((r) => r.action)).toEqual([
      "target.delete",
      "target.create",
    ]);
    expect(new Set((await audit("?actor=viewer%20token")).map((r) => r.action))).toEqual(
      new Set(["auth.login", "auth.logout"]),
    );
    expect(await audit("?actor=nobody")).toEqual([]);
    // from inclusive, to exclusive: the 3rd and 4th changes (the target's create and update).
    const from = new Date(START_MS + 3000).toISOString();
    const to = new Date(START_MS + 5000).toISOString();
    expect((await audit(`?from=${from}&to=${to}`)).map((r) => r.action)).toEqual([
      "target.update",
      "target.create",
    ]);
    expect((await audit("?limit=1")).map((r) => r.action)).toEqual(["key.revoke"]);
  });

  it("does answer CSV with a header and one line per row", async () => {
    const res = await fleet.app.inject({
      url: "/api/v1/audit?format=csv&action=target.create",
      headers: ADMIN,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    const lines = res.body.trim().split(/\r?\n/);
    expect(lines[0]).toBe("id,at,principalKind,principalName,principalEmail,ip,action,subject,detail");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(",token,admin token,,127.0.0.1,target.create,bob,");
  });

  it("does answer only admins", async () => {
    const viewer = await fleet.app.inject({
      url: "/api/v1/audit",
      headers: { authorization: `Bearer ${VIEWER_TOKEN}` },
    });
    expect(viewer.statusCode).toBe(403);
    expect((await fleet.app.inject({ url: "/api/v1/audit" })).statusCode).toBe(401);
  });
});

describe("a failed audit write", () => {
  it("does leave the change made and log an error naming the event", async () => {
    await fleet.db.pool.query("ALTER TABLE audit_event RENAME TO audit_event_away");
    try {
      const res = await fleet.app.inject({
        method: "POST",
        url: "/api/v1/targets",
        payload: { name: "carol", url: "ws://127.0.0.1:4" },
        headers: ADMIN,
      });
      expect(res.statusCode).toBe(201);
      const line = fleet.logs.find((l) => l.includes("its audit row could not be written"));
      expect(line).toBeDefined();
      const logged = JSON.parse(line ?? "{}");
      expect(logged.level).toBe(50);
      expect(logged.audit).toMatchObject({ action: "target.create", subject: "carol" });
      const metrics = await fleet.app.inject({ url: "/metrics", headers: ADMIN });
      expect(metrics.body).toContain("codex_fleet_audit_write_failures_total 1");
    } finally {
      await fleet.db.pool.query("ALTER TABLE audit_event_away RENAME TO audit_event");
    }
    expect((await fleet.app.inject({ url: "/api/v1/targets/carol", headers: ADMIN })).statusCode).toBe(200);
  });
});
