/**
 * Targets managed through the admin API over a real Postgres: add, change and remove at runtime,
 * tokens stored only as AES-256-GCM ciphertext and never answered, config targets read-only, the
 * rules for tokens without a key or over plain ws://, and a restart that reads the tokens back.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetAdminView } from "@codex-fleet/protocol/targets";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../src/config/secret.ts";
import { StoredTokenError } from "../src/targets/managed-targets.ts";
import { TokenCipher } from "../src/targets/token-cipher.ts";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const TOKEN = "target-token-5e8d1c7a9b3f";
const YAML = [
  "server: { host: 127.0.0.1 }",
  "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
  "targets: [{ name: from-config, url: 'ws://127.0.0.1:1' }]",
  "observer: { minBackoffMs: 60000, maxBackoffMs: 60000 }",
].join("\n");

let testDb: TestDatabase;
let fleet: AuthApp;

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({ db: testDb, yaml: YAML, env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY } });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

const admin = (app: AuthApp, opts: InjectOptions) =>
  app.app.inject({ ...opts, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...opts.headers } });

async function row(name: string) {
  const { rows } = await fleet.db.pool.query<{
    managed: boolean;
    enabled: boolean;
    token_ciphertext: string | null;
    url: string;
  }>("SELECT managed, enabled, token_ciphertext, url FROM target WHERE id = $1", [name]);
  return rows[0];
}

describe("managed targets", () => {
  it("does add a target with an encrypted token, connect it, and never answer the token", async () => {
    const res = await admin(fleet, {
      method: "POST",
      url: "/api/v1/targets",
      payload: {
        name: "alice",
        team: "payments",
        url: "ws://127.0.0.1:1",
        labels: { site: "berlin" },
        token: TOKEN,
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain(TOKEN);
    expect(res.json<TargetAdminView>()).toMatchObject({
      name: "alice",
      team: "payments",
      labels: { site: "berlin" },
      managed: true,
      hasToken: true,
      allowInsecure: false,
    });
    expect(fleet.fleet.targets.get("alice")?.config.token?.reveal()).toBe(TOKEN);

    const stored = await row("alice");
    expect(stored).toMatchObject({ managed: true, enabled: true });
    expect(stored?.token_ciphertext).toMatch(/^v1:[\w-]+:[\w-]+:[\w-]+$/);
    expect(stored?.token_ciphertext).not.toContain(TOKEN);
    const cipher = new TokenCipher(new Secret(SECRET_KEY));
    expect(cipher.decrypt("alice", stored?.token_ciphertext ?? "").reveal()).toBe(TOKEN);
    // Bound to its row: the same ciphertext under another name does not decrypt.
    expect(() => cipher.decrypt("bob", stored?.token_ciphertext ?? "")).toThrow();

    for (const url of ["/api/v1/targets", "/api/v1/targets/alice"]) {
      const read = await admin(fleet, { url });
      expect(read.statusCode).toBe(200);
      expect(read.body).toContain("alice");
      expect(read.body).not.toContain(TOKEN);
    }
    expect((await admin(fleet, { url: "/api/v1/targets/alice" })).json().hasToken).toBe(true);
  });

  it.each([
    ["an existing managed name", "alice", 409, "CONFLICT"],
    ["a config target's name", "from-config", 409, "CONFLICT"],
  ])("does refuse to add %s", async (_, name, status, code) => {
    const res = await admin(fleet, {
      method: "POST",
      url: "/api/v1/targets",
      payload: { name, url: "ws://127.0.0.1:1" },
    });
    expect([res.statusCode, res.json().error.code]).toEqual([status, code]);
  });

  it.each([
    ["PUT", { url: "ws://127.0.0.1:2" }],
    ["DELETE", undefined],
  ] as const)("does answer 409 to %s on a config-file target", async (method, payload) => {
    const res = await admin(fleet, { method, url: "/api/v1/targets/from-config", payload });
    expect([res.statusCode, res.json().error.code]).toEqual([409, "READ_ONLY"]);
    expect((await admin(fleet, { url: "/api/v1/targets/from-config" })).json()).toMatchObject({
      managed: false,
      hasToken: false,
    });
  });

  it("does keep the token when a change omits it and drop it when the change says null", async () => {
    const before = (await row("alice"))?.token_ciphertext;
    const kept = await admin(fleet, {
      method: "PUT",
      url: "/api/v1/targets/alice",
      payload: { url: "ws://127.0.0.1:3" },
    });
    expect(kept.json()).toMatchObject({ url: "ws://127.0.0.1:3", hasToken: true });
    const after = (await row("alice"))?.token_ciphertext;
    expect(after).not.toBe(before); // a fresh nonce per encryption
    expect(new TokenCipher(new Secret(SECRET_KEY)).decrypt("alice", after ?? "").reveal()).toBe(TOKEN);

    const dropped = await admin(fleet, {
      method: "PUT",
      url: "/api/v1/targets/alice",
      payload: { url: "ws://127.0.0.1:3", token: null },
    });
    expect(dropped.json()).toMatchObject({ hasToken: false });
    expect((await row("alice"))?.token_ciphertext).toBeNull();
    expect(fleet.fleet.targets.get("alice")?.config.token).toBeNull();
  });

  it.each([
    ["a token over ws:// to another host", { url: "ws://10.0.0.9:4500", token: TOKEN }, 400],
    ["the same with allowInsecure", { url: "ws://10.0.0.9:4500", token: TOKEN, allowInsecure: true }, 201],
    ["a token over wss://", { url: "wss://dev.example.com:4500", token: TOKEN }, 201],
  ])("does check %s", async (_, body, status) => {
    const name = `insecure-${status}-${Math.random().toString(36).slice(2, 8)}`;
    const res = await admin(fleet, { method: "POST", url: "/api/v1/targets", payload: { name, ...body } });
    expect(res.statusCode).toBe(status);
    if (status === 400) expect(res.json().error.param).toBe("url");
    if (status === 201) await admin(fleet, { method: "DELETE", url: `/api/v1/targets/${name}` });
  });

  it("does remove a managed target: disconnected, forgotten, its token erased, its row kept", async () => {
    await admin(fleet, {
      method: "PUT",
      url: "/api/v1/targets/alice",
      payload: { url: "ws://127.0.0.1:3", token: TOKEN },
    });
    const res = await admin(fleet, { method: "DELETE", url: "/api/v1/targets/alice" });
    expect(res.statusCode).toBe(204);
    expect(fleet.fleet.targets.has("alice")).toBe(false);
    expect((await admin(fleet, { url: "/api/v1/targets/alice" })).statusCode).toBe(404);
    expect(await row("alice")).toMatchObject({ managed: false, enabled: false, token_ciphertext: null });
    expect((await admin(fleet, { method: "DELETE", url: "/api/v1/targets/alice" })).statusCode).toBe(404);
  });
});

describe("a restart", () => {
  it("does follow the stored targets again with their tokens decrypted", async () => {
    const add = await admin(fleet, {
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "carol", url: "ws://127.0.0.1:1", token: TOKEN },
    });
    expect(add.statusCode).toBe(201);
    const again = await startAuthApp({ db: testDb, yaml: YAML, env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY } });
    try {
      expect(again.fleet.targets.get("carol")?.config.token?.reveal()).toBe(TOKEN);
      expect(again.managed.isManaged("carol")).toBe(true);
      expect(again.managed.isManaged("from-config")).toBe(false);
    } finally {
      await again.stop();
    }
  });

  it.each([
    ["no key", {}],
    ["another key", { CODEX_FLEET_SECRET_KEY: "ff".repeat(32) }],
  ])("does refuse to start with %s for the stored tokens", async (_, env) => {
    const failed = await startAuthApp({ db: testDb, yaml: YAML, env }).then(
      async (started) => {
        await started.stop();
        return null;
      },
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(StoredTokenError);
    expect(String(failed)).toContain("carol");
    expect(String(failed)).not.toContain(TOKEN);
  });

  it("does give a name back to the config file when the config now defines it", async () => {
    const yaml = YAML.replace(
      "targets: [{ name: from-config, url: 'ws://127.0.0.1:1' }]",
      "targets: [{ name: from-config, url: 'ws://127.0.0.1:1' }, { name: carol, url: 'ws://127.0.0.1:5' }]",
    );
    const again = await startAuthApp({ db: testDb, yaml, env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY } });
    try {
      expect(again.managed.isManaged("carol")).toBe(false);
      expect(again.fleet.targets.get("carol")?.config.url).toBe("ws://127.0.0.1:5");
      expect(await row("carol")).toMatchObject({ managed: false, enabled: true, token_ciphertext: null });
    } finally {
      await again.stop();
    }
  });
});

describe("without CODEX_FLEET_SECRET_KEY", () => {
  it("does refuse to store a token with a 400 that says how to fix it, and accept a target without one", async () => {
    const bare = await startAuthApp({ db: testDb, yaml: YAML.replace(/targets:.*\n/, "") });
    try {
      const refused = await admin(bare, {
        method: "POST",
        url: "/api/v1/targets",
        payload: { name: "dave", url: "ws://127.0.0.1:1", token: TOKEN },
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error).toMatchObject({ code: "ENCRYPTION_KEY_MISSING", param: "token" });
      expect(refused.json().error.message).toContain("CODEX_FLEET_SECRET_KEY");
      expect(refused.body).not.toContain(TOKEN);
      expect(await row("dave")).toBeUndefined();
      const plain = await admin(bare, {
        method: "POST",
        url: "/api/v1/targets",
        payload: { name: "dave", url: "ws://127.0.0.1:1" },
      });
      expect([plain.statusCode, plain.json().hasToken]).toEqual([201, false]);
    } finally {
      await bare.stop();
    }
  });
});
