/**
 * Who acknowledged (issue 16), through the product's composition root on a real Postgres: with auth
 * on, the signed-in identity is recorded (name and role; a static-token session's name is its
 * role) and a free-text `by` in the body is ignored; with auth off, the free-text `by` is the name,
 * required, and no role is recorded. The alert is a real one: "target unreachable" for a target
 * whose port refuses connections.
 */

import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AlertView } from "@codex-fleet/protocol/api";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const ALERTS = [
  "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }]",
  "observer: { minBackoffMs: 50, maxBackoffMs: 200, connectTimeoutMs: 1000 }",
  "alerts:",
  "  evaluateIntervalMs: 100",
  "  rules:",
  "    - { id: target-down, kind: targetUnreachable, forMs: 0 }",
].join("\n");

const AUTH_ON = [
  "server: { host: 127.0.0.1, port: 0, allowedHosts: [fleet.test] }",
  "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
].join("\n");

let testDb: TestDatabase;
let fleet: AuthApp | null = null;

beforeAll(async () => {
  testDb = await createTestDatabase();
}, 60_000);

afterEach(async () => {
  await fleet?.stop();
  fleet = null;
  // Each test raises its own alert (the same identity: target-down on alice).
  const db = createDb({ url: testDb.url, poolMax: 1 });
  await db.pool.query("TRUNCATE alert, notification_delivery");
  await db.close();
});

afterAll(async () => {
  await testDb?.drop();
  await removeScratchDirs();
});

/** Headers of a request signed in with `token` (a bearer client, or a browser session). */
async function signedIn(
  app: AuthApp,
  token: string,
  via: "bearer" | "session",
): Promise<Record<string, string>> {
  if (via === "bearer") return { authorization: `Bearer ${token}` };
  const res = await app.app.inject({ method: "POST", url: "/api/v1/auth/login", payload: { token } });
  expect(res.statusCode).toBe(200);
  const cookie = [res.headers["set-cookie"] ?? []].flat().join("\n").split(";")[0] ?? "";
  return { cookie, origin: "http://fleet.test", host: "fleet.test" };
}

/** The firing target-down alert's id, once the engine has raised it. */
async function firingAlert(app: AuthApp, headers: Record<string, string>): Promise<string> {
  let id = "";
  await waitUntil(
    "target-down firing",
    async () => {
      const res = await app.app.inject({ url: "/api/v1/alerts?state=firing&rule=target-down", headers });
      id = (res.json() as AlertView[])[0]?.id ?? "";
      return id !== "";
    },
    20_000,
  );
  return id;
}

async function ack(app: AuthApp, id: string, payload: unknown, headers: Record<string, string> = {}) {
  const res = await app.app.inject({
    method: "POST",
    url: `/api/v1/alerts/${id}/ack`,
    payload: payload as object,
    headers,
  });
  return { status: res.statusCode, body: res.json() as AlertView & { error?: { param?: string } } };
}

async function stored(app: AuthApp, id: string): Promise<{ ack_by: string | null; ack_role: string | null }> {
  const { rows } = await app.db.pool.query<{ ack_by: string | null; ack_role: string | null }>(
    "SELECT ack_by, ack_role FROM alert WHERE id = $1",
    [id],
  );
  return rows[0] ?? { ack_by: null, ack_role: null };
}

describe("POST /api/v1/alerts/:id/ack with auth on", () => {
  it.each<[string, string, "bearer" | "session", unknown, string]>([
    [
      "a viewer's browser session, ignoring the free-text name",
      VIEWER_TOKEN,
      "session",
      { by: "mallory" },
      "viewer",
    ],
    ["an admin bearer client, with no body name", ADMIN_TOKEN, "bearer", {}, "admin"],
  ])(
    "does record the signed-in identity: %s",
    async (_name, token, via, payload, role) => {
      fleet = await startAuthApp({ db: testDb, yaml: `${AUTH_ON}\n${ALERTS}` });
      const headers = await signedIn(fleet, token, via);
      const id = await firingAlert(fleet, headers);

      const { status, body } = await ack(fleet, id, payload, headers);
      expect([status, body.ackBy, body.ackRole]).toEqual([200, role, role]);
      expect(await stored(fleet, id)).toEqual({ ack_by: role, ack_role: role });
      const listed = (
        await fleet.app.inject({ url: "/api/v1/alerts?state=firing", headers })
      ).json() as AlertView[];
      expect(listed.find((a) => a.id === id)).toMatchObject({ ackBy: role, ackRole: role });
      // The CSV export carries the role too.
      const csv = (await fleet.app.inject({ url: "/api/v1/alerts?format=csv", headers })).body;
      expect(csv.split("\r\n")[0]?.split(",").at(-1)).toBe("ackRole");
      expect(csv).toContain(`,${role}`);
    },
    60_000,
  );

  it("does still refuse a malformed name and unknown fields (the body is checked before it is ignored)", async () => {
    fleet = await startAuthApp({ db: testDb, yaml: `${AUTH_ON}\n${ALERTS}` });
    const headers = await signedIn(fleet, ADMIN_TOKEN, "bearer");
    const id = await firingAlert(fleet, headers);
    expect((await ack(fleet, id, { by: " " }, headers)).body.error?.param).toBe("by");
    expect((await ack(fleet, id, { who: "x" }, headers)).body.error?.param).toBe("who");
    expect(await stored(fleet, id)).toEqual({ ack_by: null, ack_role: null });
  }, 60_000);
});

describe("POST /api/v1/alerts/:id/ack with auth off", () => {
  it("does record the free-text name without a role, and require it", async () => {
    fleet = await startAuthApp({ db: testDb, yaml: `server: { host: 127.0.0.1 }\nauth: {}\n${ALERTS}` });
    expect(fleet.config.auth.enabled).toBe(false);
    const id = await firingAlert(fleet, {});

    const missing = await ack(fleet, id, {});
    expect([missing.status, missing.body.error?.param]).toEqual([400, "by"]);
    expect(await stored(fleet, id)).toEqual({ ack_by: null, ack_role: null });

    const { status, body } = await ack(fleet, id, { by: "dana" });
    expect([status, body.ackBy, body.ackRole]).toEqual([200, "dana", null]);
    expect(await stored(fleet, id)).toEqual({ ack_by: "dana", ack_role: null });
  }, 60_000);
});
