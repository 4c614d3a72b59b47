/**
 * Sessions in Postgres (issue 12), on a real database: the store (hash as key, expiry, the bound,
 * pruning) and two in-process collectors sharing one database — a login on A works on B, both
 * restart and the browser is still signed in, a sign-out on B ends it on A.
 */

import { createPool, type DbPool } from "@codex-fleet/db/pool";
import { countSessions } from "@codex-fleet/db/repositories/sessions-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionStore, sessionKeyOf } from "../src/auth/sessions.ts";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  await testDb?.drop();
  await removeScratchDirs();
});

// The same statements on the server and on embedded PGlite (a collector without DATABASE_URL).
describe.each(["server", "embedded"] as const)("SessionStore on %s Postgres", (kind) => {
  let db: TestDatabase | undefined;
  let pool: DbPool;
  beforeAll(async () => {
    db =
      kind === "server"
        ? undefined
        : await createTestDatabase({
            serverUrl: "postgresql://postgres@127.0.0.1:1/none",
            fallbackToEmbedded: true,
          });
    if (db) expect(db.kind).toBe("embedded");
    const { url, poolMax } = db ?? testDb;
    pool = createPool({ url, poolMax });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });
  const rows = async () =>
    (await pool.query<{ key_hash: string; role: string }>("SELECT key_hash, role FROM session")).rows;

  it("does find a session by its id until it expires, then never again, and deletes the expired row", async () => {
    await pool.query("DELETE FROM session");
    let now = Date.UTC(2026, 11, 6, 9);
    const t0 = now;
    const store = new SessionStore({ pool, ttlMs: 1000, now: () => now });
    const { id, session } = await store.create("viewer");
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session).toEqual({ role: "viewer", createdAtMs: t0, expiresAtMs: t0 + 1000, person: null });
    now = t0 + 999;
    expect(await store.get(id)).toEqual(session);
    now = t0 + 1000;
    expect(await store.get(id)).toBeNull();
    expect(await countSessions({ pool })).toBe(0);
  });

  it("does keep the person of a single sign-on with the session", async () => {
    const store = new SessionStore({ pool, ttlMs: 60_000 });
    const person = { subject: "sub-123", name: "Alice Admin", email: "alice@example.com" };
    const { id } = await store.create("admin", person);
    expect(await store.get(id)).toMatchObject({ role: "admin", person });
    const noEmail = await store.create("viewer", { ...person, email: null });
    expect((await store.get(noEmail.id))?.person).toEqual({ ...person, email: null });
  });

  it.each([
    ["unknown", "A".repeat(43)],
    ["malformed", "not a session"],
    ["empty", ""],
  ])("does answer null for an %s id", async (_, id) => {
    const store = new SessionStore({ pool, ttlMs: 60_000 });
    await store.create("admin");
    expect(await store.get(id)).toBeNull();
  });

  it("does keep only the SHA-256 of the id, never the id", async () => {
    await pool.query("DELETE FROM session");
    const store = new SessionStore({ pool, ttlMs: 60_000 });
    const { id } = await store.create("admin");
    const stored = await rows();
    expect(stored).toEqual([{ key_hash: sessionKeyOf(id), role: "admin" }]);
    expect(JSON.stringify(stored)).not.toContain(id);
  });

  it("does end a session on delete and drop the oldest beyond maxSessions", async () => {
    await pool.query("DELETE FROM session");
    let now = Date.UTC(2026, 11, 6, 10);
    const store = new SessionStore({ pool, ttlMs: 60_000, maxSessions: 2, now: () => now++ });
    const a = await store.create("admin");
    const b = await store.create("viewer");
    await store.delete(b.id);
    expect(await store.get(b.id)).toBeNull();
    const c = await store.create("viewer");
    const d = await store.create("viewer"); // a is the oldest: over the bound
    expect([await store.get(a.id), (await store.get(c.id))?.role, (await store.get(d.id))?.role]).toEqual([
      null,
      "viewer",
      "viewer",
    ]);
    expect(await countSessions({ pool })).toBe(2);
  });

  it("does prune every expired session on sign-in and on prune()", async () => {
    await pool.query("DELETE FROM session");
    let now = Date.UTC(2026, 11, 6, 11);
    const store = new SessionStore({ pool, ttlMs: 1000, now: () => now });
    await store.create("admin");
    await store.create("viewer");
    now += 1000;
    const fresh = await store.create("viewer"); // prunes the two expired ones
    expect(await countSessions({ pool })).toBe(1);
    now += 1000;
    expect(await store.prune()).toBe(1);
    expect(await store.get(fresh.id)).toBeNull();
  });

  it("does grant nothing for a role this version does not know", async () => {
    const store = new SessionStore({ pool, ttlMs: 60_000 });
    const { id } = await store.create("viewer");
    await pool.query("UPDATE session SET role = 'owner' WHERE key_hash = $1", [sessionKeyOf(id)]);
    expect(await store.get(id)).toBeNull();
  });
});

describe("sessions across collectors on one database", () => {
  let a: AuthApp | undefined;
  let b: AuthApp | undefined;
  const start = () => startAuthApp({ db: testDb });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  const on = (app: AuthApp, opts: InjectOptions) =>
    app.app.inject({ ...opts, headers: { host: "fleet.test", ...opts.headers } });
  const me = async (app: AuthApp, cookie: string) => {
    const res = await on(app, { url: "/api/v1/auth/me", headers: { cookie } });
    return res.statusCode === 200 ? (res.json() as { role: string }).role : res.statusCode;
  };
  const login = async (app: AuthApp, token: string): Promise<string> => {
    const res = await on(app, { method: "POST", url: "/api/v1/auth/login", payload: { token } });
    expect(res.statusCode).toBe(200);
    return [res.headers["set-cookie"] ?? []].flat().join("\n").split(";")[0] ?? "";
  };

  it("does sign in on A, work on B, survive restarting both, and end everywhere on sign-out from B", async () => {
    a = await start();
    b = await start();
    const admin = await login(a, ADMIN_TOKEN);
    const viewer = await login(a, VIEWER_TOKEN);
    expect(admin).toMatch(/^fleet_session=/);
    expect([await me(a, admin), await me(b, admin), await me(b, viewer)]).toEqual([
      "admin",
      "admin",
      "viewer",
    ]);
    // The session carries its role to B: a viewer cannot change anything there either.
    const change = await on(b, {
      method: "DELETE",
      url: "/api/v1/targets/nobody",
      headers: { cookie: viewer, origin: "http://fleet.test" },
    });
    expect(change.statusCode).toBe(403);
    expect((await on(b, { url: "/api/v1/targets", headers: { cookie: admin } })).statusCode).toBe(200);

    await a.stop();
    await b.stop();
    a = await start();
    b = await start();
    expect([await me(a, admin), await me(b, admin), await me(b, viewer)]).toEqual([
      "admin",
      "admin",
      "viewer",
    ]);

    const out = await on(b, {
      method: "POST",
      url: "/api/v1/auth/logout",
      headers: { cookie: admin, origin: "http://fleet.test" },
    });
    expect(out.statusCode).toBe(204);
    expect([await me(a, admin), await me(b, admin)]).toEqual([401, 401]);
    expect((await on(a, { url: "/api/v1/targets", headers: { cookie: admin } })).statusCode).toBe(401);
    // The other browser's session is untouched.
    expect(await me(a, viewer)).toBe("viewer");
  }, 60_000);
});
