/**
 * API keys (issue 17) through the product's composition root on a real Postgres: created by an
 * admin with the secret shown once, accepted as `Authorization: Bearer` with the key's role and
 * name, last use recorded at most once a minute, revoked and expired keys refused with a 401 that
 * says so, unknown keys refused without a hint, and the secret never in a listing or a log line.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AuthMe } from "@codex-fleet/protocol/auth";
import type { ApiKeyCreated, ApiKeyView } from "@codex-fleet/protocol/keys";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let fleet: AuthApp;
let clockMs = Date.parse("2026-12-06T12:00:00.000Z");

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ADMIN = bearer(ADMIN_TOKEN);

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({ db: testDb, now: () => clockMs });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

async function createKey(body: Record<string, unknown>): Promise<ApiKeyCreated> {
  const res = await fleet.app.inject({ method: "POST", url: "/api/v1/keys", payload: body, headers: ADMIN });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function listKeys(): Promise<ApiKeyView[]> {
  const res = await fleet.app.inject({ url: "/api/v1/keys", headers: ADMIN });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const keyNamed = async (name: string) =>
  (await listKeys()).find((k) => k.name === name && k.status !== "revoked");

describe("API keys", () => {
  it("does create a key whose secret is shown once and never listed", async () => {
    const created = await createKey({ name: "ci deploy", role: "viewer" });
    expect(created.secret).toMatch(/^cfk_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      name: "ci deploy",
      role: "viewer",
      status: "active",
      createdBy: "admin token",
      expiresAt: null,
      lastUsedAt: null,
      createdAt: new Date(clockMs).toISOString(),
    });
    expect(created.secret.startsWith(created.prefix)).toBe(true);
    expect(created.prefix.length).toBeLessThan(12);
    const res = await fleet.app.inject({ url: "/api/v1/keys", headers: ADMIN });
    expect(res.body).not.toContain(created.secret);
    expect(res.body).not.toContain(created.secret.slice(12));
    const { rows } = await fleet.db.pool.query<{ secret_hash: string }>(
      "SELECT secret_hash FROM api_key WHERE id = $1",
      [created.id],
    );
    expect(rows[0]?.secret_hash).toHaveLength(43);
    expect(res.body).not.toContain(rows[0]?.secret_hash);
    expect(fleet.logs.join("")).not.toContain(created.secret);
  });

  it("does accept a key as a bearer token with its role and name", async () => {
    const { secret } = await createKey({ name: "reader", role: "viewer" });
    const me = await fleet.app.inject({ url: "/api/v1/auth/me", headers: bearer(secret) });
    expect(me.statusCode).toBe(200);
    expect((me.json() as AuthMe).principal).toEqual({ kind: "apiKey", name: "reader", email: null });
    expect((me.json() as AuthMe).role).toBe("viewer");
    expect((await fleet.app.inject({ url: "/api/v1/targets", headers: bearer(secret) })).statusCode).toBe(
      200,
    );
    expect(fleet.logs.join("")).not.toContain(secret);
  });

  it("does refuse every change and the admin reads to a viewer key", async () => {
    const { secret } = await createKey({ name: "viewer-writes", role: "viewer" });
    const target = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "x", url: "ws://127.0.0.1:9" },
      headers: bearer(secret),
    });
    expect(target.statusCode).toBe(403);
    const key = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/keys",
      payload: { name: "escalate", role: "admin" },
      headers: bearer(secret),
    });
    expect(key.statusCode).toBe(403);
    for (const url of ["/api/v1/keys", "/api/v1/audit"])
      expect((await fleet.app.inject({ url, headers: bearer(secret) })).statusCode).toBe(403);
  });

  it("does let an admin key make changes, recorded under the key's name", async () => {
    const { secret } = await createKey({ name: "provisioner", role: "admin" });
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "from-key", url: "ws://127.0.0.1:9" },
      headers: bearer(secret),
    });
    expect(res.statusCode, res.body).toBe(201);
    const { rows } = await fleet.db.pool.query(
      "SELECT principal_kind, principal_name FROM audit_event WHERE action = 'target.create' AND subject = 'from-key'",
    );
    expect(rows).toEqual([{ principal_kind: "apiKey", principal_name: "provisioner" }]);
  });

  it("does record the last use at most once a minute", async () => {
    const { secret } = await createKey({ name: "last-used", role: "viewer" });
    const use = () => fleet.app.inject({ url: "/api/v1/targets", headers: bearer(secret) });
    const first = clockMs;
    expect((await use()).statusCode).toBe(200);
    await vi.waitFor(async () =>
      expect((await keyNamed("last-used"))?.lastUsedAt).toBe(new Date(first).toISOString()),
    );
    clockMs += 30_000;
    expect((await use()).statusCode).toBe(200);
    clockMs += 1000;
    // Within the minute: no second write (give a write that should not happen the chance to land).
    expect((await use()).statusCode).toBe(200);
    expect((await keyNamed("last-used"))?.lastUsedAt).toBe(new Date(first).toISOString());
    clockMs += 30_000;
    const later = clockMs;
    expect((await use()).statusCode).toBe(200);
    await vi.waitFor(async () =>
      expect((await keyNamed("last-used"))?.lastUsedAt).toBe(new Date(later).toISOString()),
    );
  });

  it("does refuse a revoked key with a 401 that says so", async () => {
    const { id, secret } = await createKey({ name: "to-revoke", role: "admin" });
    expect((await fleet.app.inject({ url: "/api/v1/targets", headers: bearer(secret) })).statusCode).toBe(
      200,
    );
    const del = await fleet.app.inject({ method: "DELETE", url: `/api/v1/keys/${id}`, headers: ADMIN });
    expect(del.statusCode).toBe(200);
    expect((del.json() as ApiKeyView).status).toBe("revoked");
    const res = await fleet.app.inject({ url: "/api/v1/targets", headers: bearer(secret) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe(
      `the API key to-revoke was revoked at ${new Date(clockMs).toISOString()}`,
    );
    // Revoking again changes nothing; an unknown id is a 404.
    const again = await fleet.app.inject({ method: "DELETE", url: `/api/v1/keys/${id}`, headers: ADMIN });
    expect((again.json() as ApiKeyView).revokedAt).toBe(new Date(clockMs).toISOString());
    const missing = await fleet.app.inject({
      method: "DELETE",
      url: "/api/v1/keys/00000000-0000-4000-8000-000000000000",
      headers: ADMIN,
    });
    expect(missing.statusCode).toBe(404);
  });

  it("does refuse an expired key with a 401 naming when it expired", async () => {
    const expiresAt = new Date(clockMs + 3_600_000).toISOString();
    const { secret } = await createKey({ name: "short-lived", role: "viewer", expiresAt });
    expect((await fleet.app.inject({ url: "/api/v1/targets", headers: bearer(secret) })).statusCode).toBe(
      200,
    );
    clockMs += 3_600_000;
    const res = await fleet.app.inject({ url: "/api/v1/targets", headers: bearer(secret) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe(`the API key short-lived expired at ${expiresAt}`);
    expect((await keyNamed("short-lived"))?.status).toBe("expired");
  });

  it("does refuse an unknown key without saying anything about keys", async () => {
    const res = await fleet.app.inject({ url: "/api/v1/targets", headers: bearer(`cfk_${"A".repeat(43)}`) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toBe("the bearer token was not accepted");
  });

  it("does keep a live key's name unique, free again once revoked", async () => {
    const { id } = await createKey({ name: "unique", role: "viewer" });
    const dup = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/keys",
      payload: { name: "unique", role: "admin" },
      headers: ADMIN,
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.message).toContain("an API key named unique already exists");
    await fleet.app.inject({ method: "DELETE", url: `/api/v1/keys/${id}`, headers: ADMIN });
    await createKey({ name: "unique", role: "admin" });
  });

  it("does refuse an expiry in the past naming expiresAt", async () => {
    const res = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/keys",
      payload: { name: "past", role: "viewer", expiresAt: new Date(clockMs - 1000).toISOString() },
      headers: ADMIN,
    });
    expect([res.statusCode, res.json().error.param]).toEqual([400, "expiresAt"]);
  });

  it("does keep the key routes from a viewer token", async () => {
    const res = await fleet.app.inject({ url: "/api/v1/keys", headers: bearer(VIEWER_TOKEN) });
    expect(res.statusCode).toBe(403);
  });
});
