/**
 * API keys and the audit log (issue 17) on real Postgres: a key found by its hash with its times,
 * last use written at most once a gap (whichever collector writes), revocation that keeps its
 * first time, a name unique among keys not revoked; audit events filtered and newest first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import {
  ApiKeyNameTaken,
  findApiKeyByHash,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  touchApiKey,
} from "../src/repositories/api-keys-repository.ts";
import { insertAuditEvent, listAuditEvents } from "../src/repositories/audit-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0, 123);

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: 2 });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const key = (n: number, name: string, expiresAtMs: number | null = null) =>
  insertApiKey({
    pool: db.pool,
    id: `00000000-0000-4000-8000-00000000000${n}`,
    name,
    role: "viewer",
    secretHash: `hash-${n}`,
    prefix: "cfk_abcdef",
    createdBy: "admin token",
    nowMs: T0,
    expiresAtMs,
  });

describe("api keys repository", () => {
  it("does store a key and find it by its hash with millisecond times", async () => {
    const stored = await key(1, "one", T0 + 3_600_000);
    expect(stored).toEqual({
      id: "00000000-0000-4000-8000-000000000001",
      name: "one",
      role: "viewer",
      prefix: "cfk_abcdef",
      createdAtMs: T0,
      createdBy: "admin token",
      expiresAtMs: T0 + 3_600_000,
      revokedAtMs: null,
      lastUsedAtMs: null,
    });
    expect(await findApiKeyByHash({ pool: db.pool, secretHash: "hash-1" })).toEqual(stored);
    expect(await findApiKeyByHash({ pool: db.pool, secretHash: "hash-x" })).toBeNull();
  });

  it("does write the last use at most once a gap", async () => {
    const { id } = await key(2, "two");
    const touch = (nowMs: number) => touchApiKey({ pool: db.pool, id, nowMs, minGapMs: 60_000 });
    expect(await touch(T0)).toBe(true);
    expect(await touch(T0 + 59_999)).toBe(false);
    expect(await touch(T0 + 60_000)).toBe(true);
    expect((await findApiKeyByHash({ pool: db.pool, secretHash: "hash-2" }))?.lastUsedAtMs).toBe(T0 + 60_000);
  });

  it("does revoke once, keep the first time, and free the name", async () => {
    const { id } = await key(3, "three");
    await expect(key(4, "three")).rejects.toBeInstanceOf(ApiKeyNameTaken);
    const first = await revokeApiKey({ pool: db.pool, id, nowMs: T0 + 1000 });
    expect([first?.alreadyRevoked, first?.key.revokedAtMs]).toEqual([false, T0 + 1000]);
    const again = await revokeApiKey({ pool: db.pool, id, nowMs: T0 + 2000 });
    expect([again?.alreadyRevoked, again?.key.revokedAtMs]).toEqual([true, T0 + 1000]);
    expect(
      await revokeApiKey({ pool: db.pool, id: "00000000-0000-4000-8000-000000000009", nowMs: T0 }),
    ).toBeNull();
    await key(5, "three");
    expect((await listApiKeys({ pool: db.pool })).filter((k) => k.name === "three")).toHaveLength(2);
  });
});

describe("audit repository", () => {
  it("does list events newest first, filtered by time, action and actor", async () => {
    const event = (atMs: number, action: string, name: string, email: string | null = null) =>
      insertAuditEvent({
        pool: db.pool,
        event: {
          atMs,
          principalKind: email ? "oidc" : "token",
          principalName: name,
          principalEmail: email,
          ip: "10.0.0.1",
          action,
          subject: "s",
          detail: { n: atMs - T0 },
        },
      });
    await event(T0, "target.create", "admin token");
    await event(T0 + 1000, "target.delete", "Maria", "maria@example.com");
    await event(T0 + 2000, "key.create", "admin token");
    const list = (args: Omit<Parameters<typeof listAuditEvents>[0], "pool" | "limit">, limit = 100) =>
      listAuditEvents({ pool: db.pool, limit, ...args }).then((rows) => rows.map((r) => r.detail.n));
    expect(await list({})).toEqual([2000, 1000, 0]);
    expect(await list({ fromMs: T0 + 1000 })).toEqual([2000, 1000]);
    expect(await list({ toMs: T0 + 1000 })).toEqual([0]);
    expect(await list({ actions: ["target.create", "target.delete"] })).toEqual([1000, 0]);
    expect(await list({ actor: "MARIA@example.com" })).toEqual([1000]);
    expect(await list({ actor: "admin token" })).toEqual([2000, 0]);
    expect(await list({}, 1)).toEqual([2000]);
    const [row] = await listAuditEvents({ pool: db.pool, limit: 1 });
    expect(row).toMatchObject({
      atMs: T0 + 2000,
      ip: "10.0.0.1",
      principalKind: "token",
      action: "key.create",
    });
  });
});
