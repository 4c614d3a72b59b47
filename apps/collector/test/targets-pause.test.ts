/**
 * Issue 17 over a real Postgres and real WebSocket peers: pausing a target added through the API
 * closes its connection on every collector sharing the database (two in-process collectors, the
 * second one learning through the replica's NOTIFY), lists it under ?paused=true, keeps its
 * history; resuming follows it again; config targets answer 409; each change leaves an audit row.
 * And tokens read from a file or a variable on the collector's host, only where
 * `server.targetSecrets` allows: outside the directory, a symlink leading out, a wrong prefix and
 * an unconfigured collector are 400s naming the field; an allowed file or variable connects with
 * its token, which no answer ever carries.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedPeer, startScriptedPeer } from "@codex-fleet/codex-fakes/scripted-peer";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView } from "@codex-fleet/protocol/api";
import type { AuthMe } from "@codex-fleet/protocol/auth";
import type { TargetAdminView } from "@codex-fleet/protocol/targets";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const FILE_TOKEN = "file-token-7c2e9a41d0";
const ENV_TOKEN = "env-token-3b8f1e6c52";
const OUTSIDE_SECRET = "outside-secret-9d4a2c7e1f";

let testDb: TestDatabase;
let peer: ScriptedPeer;
let secretsDir: string;
let outsideDir: string;
let a: AuthApp;
let b: AuthApp;
let bare: AuthApp;

const yaml = (extra: string) =>
  [
    `server: { host: 127.0.0.1, allowedHosts: [fleet.test]${extra} }`,
    "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
    "targets: [{ name: from-config, url: 'ws://127.0.0.1:1' }]",
    "observer: { minBackoffMs: 60000, maxBackoffMs: 60000 }",
  ].join("\n");

beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  peer = await startScriptedPeer();
  secretsDir = await mkdtemp(join(tmpdir(), "fleet-target-secrets-"));
  outsideDir = await mkdtemp(join(tmpdir(), "fleet-outside-"));
  await writeFile(join(secretsDir, "alice.token"), `${FILE_TOKEN}\n`);
  await writeFile(join(outsideDir, "secret"), OUTSIDE_SECRET);
  await symlink(join(outsideDir, "secret"), join(secretsDir, "escape.token"));
  await mkdir(join(secretsDir, "sub"));
  const env = {
    CODEX_FLEET_SECRET_KEY: SECRET_KEY,
    FLEET_TARGET_BOB: ENV_TOKEN,
    OTHER_SECRET: OUTSIDE_SECRET,
  };
  const secrets = `, targetSecrets: { dir: '${secretsDir}', envPrefix: FLEET_TARGET_ }`;
  a = await startAuthApp({ db: testDb, yaml: yaml(secrets), env });
  b = await startAuthApp({ db: testDb, yaml: yaml(secrets), env });
  const bareDb = await createTestDatabase();
  const stopBare = bareDb.drop.bind(bareDb);
  bare = await startAuthApp({ db: bareDb, yaml: yaml(""), env });
  const stop = bare.stop;
  bare.stop = async () => {
    await stop();
    await stopBare();
  };
}, 120_000);

afterAll(async () => {
  await bare?.stop();
  await b?.stop();
  await a?.stop();
  await peer?.close();
  await testDb?.drop();
  await rm(secretsDir, { recursive: true, force: true });
  await rm(outsideDir, { recursive: true, force: true });
  await removeScratchDirs();
});

const as = (app: AuthApp, opts: InjectOptions, token = ADMIN_TOKEN) =>
  app.app.inject({
    ...opts,
    headers: { authorization: `Bearer ${token}`, host: "fleet.test", ...opts.headers },
  });

const followedAnywhere = (name: string) => [a, b].some((c) => c.fleet.targets.get(name)?.followed === true);

async function audits(subject: string): Promise<string[]> {
  const { rows } = await a.db.pool.query<{ action: string }>(
    "SELECT action FROM audit_event WHERE subject = $1 ORDER BY at, id",
    [subject],
  );
  return rows.map((r) => r.action);
}

describe("pause and resume", () => {
  it("does close the connection on pause, on every collector, and follow again on resume", async () => {
    const add = await as(a, {
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "pz", team: "core", url: peer.url },
    });
    expect(add.statusCode).toBe(201);
    await waitUntil("pz is followed and open", () =>
      [a, b].some((c) => c.fleet.targets.get("pz")?.status.state === "open"),
    );
    await waitUntil("B knows pz", () => b.fleet.targets.has("pz"));
    expect(peer.connections.length).toBeGreaterThan(0);

    const pause = await as(a, { method: "POST", url: "/api/v1/targets/pz/pause" });
    expect(pause.statusCode).toBe(200);
    expect(pause.json<TargetAdminView>()).toMatchObject({ name: "pz", paused: true, state: "stopped" });
    // Closed here, and B (whichever held the lease) drops it through the replica.
    await waitUntil("no collector has pz", () => !a.fleet.targets.has("pz") && !b.fleet.targets.has("pz"));
    await waitUntil("every connection to the peer closed", () => peer.connections.every((c) => !c.isOpen));
    expect(b.managed.view("pz")?.paused).toBe(true);
    // The follower's last state write (stopped) may land after the pause's own update.
    const row = async () =>
      (await a.db.pool.query("SELECT paused, enabled, state, managed FROM target WHERE id = 'pz'")).rows[0];
    await waitUntil("pz stored as stopped", async () => (await row())?.state === "stopped");
    expect(await row()).toEqual({ paused: true, enabled: false, state: "stopped", managed: true });
    // Leases may have moved pz between the collectors before the pause: count from here.
    const afterPause = peer.connections.length;

    // Listed as paused (for viewers too), absent from the followed list.
    for (const c of [a, b]) {
      const paused = await as(c, { method: "GET", url: "/api/v1/targets?paused=true" }, VIEWER_TOKEN);
      expect(paused.statusCode).toBe(200);
      expect(paused.json<TargetView[]>().map((t) => t.name)).toEqual(["pz"]);
      const followed = await as(c, { method: "GET", url: "/api/v1/targets" }, VIEWER_TOKEN);
      expect(followed.json<TargetView[]>().map((t) => t.name)).not.toContain("pz");
    }
    const one = await as(b, { method: "GET", url: "/api/v1/targets/pz" });
    expect(one.json<TargetAdminView>()).toMatchObject({ paused: true, managed: true });

    // Pausing again changes nothing and writes no second audit row.
    const again = await as(b, { method: "POST", url: "/api/v1/targets/pz/pause" });
    expect(again.statusCode).toBe(200);
    expect(peer.connections.length).toBe(afterPause);

    // Resumed through B: followed again (a new connection), no longer listed as paused.
    const resume = await as(b, { method: "POST", url: "/api/v1/targets/pz/resume" });
    expect(resume.statusCode).toBe(200);
    expect(resume.json<TargetAdminView>()).toMatchObject({ paused: false });
    await waitUntil("pz followed again", () => followedAnywhere("pz"));
    await waitUntil(
      "A knows pz again",
      () => a.fleet.targets.has("pz") && a.managed.view("pz")?.paused === false,
    );
    await waitUntil("a new connection to the peer", () => peer.connections.some((c) => c.isOpen));
    expect(peer.connections.length).toBeGreaterThan(afterPause);
    const paused = await as(a, { method: "GET", url: "/api/v1/targets?paused=true" });
    expect(paused.json<TargetView[]>()).toEqual([]);

    await waitUntil("audit rows", async () => (await audits("pz")).length === 3);
    expect(await audits("pz")).toEqual(["target.create", "target.pause", "target.resume"]);
  }, 90_000);

  it("does keep a paused target paused across an edit and forget it on delete", async () => {
    await as(a, { method: "POST", url: "/api/v1/targets", payload: { name: "pe", url: peer.url } });
    expect((await as(a, { method: "POST", url: "/api/v1/targets/pe/pause" })).statusCode).toBe(200);
    const put = await as(a, {
      method: "PUT",
      url: "/api/v1/targets/pe",
      payload: { url: peer.url, team: "edited" },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json<TargetAdminView>()).toMatchObject({ team: "edited", paused: true });
    expect(a.fleet.targets.has("pe")).toBe(false);
    await waitUntil("B sees the edit, still paused", () => b.managed.view("pe")?.team === "edited");
    expect(b.fleet.targets.has("pe")).toBe(false);
    expect((await as(a, { method: "DELETE", url: "/api/v1/targets/pe" })).statusCode).toBe(204);
    await waitUntil("B forgot pe", () => b.managed.view("pe") === null);
    expect((await as(a, { method: "GET", url: "/api/v1/targets/pe" })).statusCode).toBe(404);
  }, 60_000);

  it("does keep a paused target paused across a restart, with its token", async () => {
    const add = await as(a, {
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "pr", url: peer.url, tokenFile: "alice.token" },
    });
    expect(add.statusCode).toBe(201);
    expect((await as(a, { method: "POST", url: "/api/v1/targets/pr/pause" })).statusCode).toBe(200);
    const c = await startAuthApp({
      db: testDb,
      yaml: yaml(`, targetSecrets: { dir: '${secretsDir}', envPrefix: FLEET_TARGET_ }`),
      env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
    });
    try {
      expect(c.fleet.targets.has("pr")).toBe(false);
      expect(c.managed.view("pr")).toMatchObject({ paused: true, hasToken: true });
      const paused = await as(c, { method: "GET", url: "/api/v1/targets?paused=true" });
      expect(paused.json<TargetView[]>().map((t) => t.name)).toContain("pr");
      // Resumed on the restarted collector: the file's token is read again.
      expect((await as(c, { method: "POST", url: "/api/v1/targets/pr/resume" })).statusCode).toBe(200);
      expect(c.fleet.targets.get("pr")?.config.token?.reveal()).toBe(FILE_TOKEN);
      await waitUntil("A follows pr again", () => a.fleet.targets.has("pr"));
    } finally {
      await c.stop();
    }
    expect((await as(a, { method: "DELETE", url: "/api/v1/targets/pr" })).statusCode).toBe(204);
  }, 90_000);

  it("does answer 409 for a config target, 404 for an unknown one, 400 for a body, 403 for a viewer", async () => {
    const cfg = await as(a, { method: "POST", url: "/api/v1/targets/from-config/pause" });
    expect(cfg.statusCode).toBe(409);
    expect(cfg.json()).toMatchObject({ error: { code: "READ_ONLY" } });
    expect(a.fleet.targets.has("from-config")).toBe(true);
    expect((await as(a, { method: "POST", url: "/api/v1/targets/nobody/resume" })).statusCode).toBe(404);
    const body = await as(a, { method: "POST", url: "/api/v1/targets/pz/pause", payload: { paused: true } });
    expect(body.statusCode).toBe(400);
    expect(body.json()).toMatchObject({ error: { param: "paused" } });
    const viewer = await as(a, { method: "POST", url: "/api/v1/targets/pz/pause" }, VIEWER_TOKEN);
    expect(viewer.statusCode).toBe(403);
    const bad = await as(a, { method: "GET", url: "/api/v1/targets?paused=yes" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { param: "paused" } });
  });
});

describe("a token from a file or an environment variable", () => {
  const post = (app: AuthApp, payload: Record<string, unknown>) =>
    as(app, { method: "POST", url: "/api/v1/targets", payload: { url: peer.url, ...payload } });

  it("does connect with the token of an allowed file, never answering it", async () => {
    const res = await post(a, { name: "tf", tokenFile: "alice.token" });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain(FILE_TOKEN);
    expect(res.json<TargetAdminView>()).toMatchObject({
      hasToken: true,
      tokenFile: join(secretsDir, "alice.token"),
      tokenEnv: null,
    });
    await waitUntil("a connection with the file's token", () =>
      peer.upgrades.some((h) => h.authorization === `Bearer ${FILE_TOKEN}`),
    );
    const { rows } = await a.db.pool.query("SELECT token_ciphertext, token_file FROM target WHERE id = 'tf'");
    expect(rows[0]).toEqual({ token_ciphertext: null, token_file: join(secretsDir, "alice.token") });
    const audit = await a.db.pool.query<{ t: string }>(
      "SELECT detail::text AS t FROM audit_event WHERE subject = 'tf'",
    );
    expect(audit.rows[0]?.t).toContain('"token": "file"');
    expect(audit.rows[0]?.t).not.toContain(FILE_TOKEN);
    // B reads the file itself (the path is stored, never the token).
    await waitUntil(
      "B holds tf with the file's token",
      () => b.fleet.targets.get("tf")?.config.token?.reveal() === FILE_TOKEN,
    );
  }, 60_000);

  it("does connect with the token of an allowed variable", async () => {
    const res = await post(a, { name: "te", tokenEnv: "FLEET_TARGET_BOB" });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain(ENV_TOKEN);
    expect(res.json<TargetAdminView>()).toMatchObject({ hasToken: true, tokenEnv: "FLEET_TARGET_BOB" });
    await waitUntil("a connection with the variable's token", () =>
      peer.upgrades.some((h) => h.authorization === `Bearer ${ENV_TOKEN}`),
    );
  }, 60_000);

  it.each([
    ["a path outside the directory", { tokenFile: "../etc/passwd" }, "tokenFile", "must be a file inside"],
    ["an absolute path outside", { tokenFile: "/etc/passwd" }, "tokenFile", "must be a file inside"],
    ["a symlink leading out", { tokenFile: "escape.token" }, "tokenFile", "links outside"],
    ["a missing file", { tokenFile: "nobody.token" }, "tokenFile", "no such file"],
    ["the directory itself", { tokenFile: "." }, "tokenFile", "must be a file inside"],
    ["a directory inside", { tokenFile: "sub" }, "tokenFile", "is not a file"],
    [
      "a variable without the prefix",
      { tokenEnv: "OTHER_SECRET" },
      "tokenEnv",
      "must start with FLEET_TARGET_",
    ],
    ["the collector's own key", { tokenEnv: "CODEX_FLEET_SECRET_KEY" }, "tokenEnv", "must start with"],
    ["an unset variable", { tokenEnv: "FLEET_TARGET_NONE" }, "tokenEnv", "unset or empty"],
    ["two sources", { token: "abc", tokenEnv: "FLEET_TARGET_BOB" }, "tokenEnv", "at most one"],
  ])("does refuse %s with a 400 naming the field", async (_what, body, param, message) => {
    for (const url of ["/api/v1/targets", "/api/v1/targets/test"]) {
      const res = await as(a, { method: "POST", url, payload: { name: "refused", url: peer.url, ...body } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { param } });
      expect(res.json().error.message).toContain(message);
      expect(res.body).not.toContain(OUTSIDE_SECRET);
    }
    expect(a.fleet.targets.has("refused")).toBe(false);
    expect(peer.upgrades.some((h) => h.authorization === `Bearer ${OUTSIDE_SECRET}`)).toBe(false);
  });

  it("does refuse both on a collector without server.targetSecrets, saying how to enable them", async () => {
    const file = await post(bare, { name: "x", tokenFile: join(secretsDir, "alice.token") });
    expect(file.statusCode).toBe(400);
    expect(file.json()).toMatchObject({ error: { param: "tokenFile" } });
    expect(file.json().error.message).toContain("server.targetSecrets.dir");
    const env = await post(bare, { name: "x", tokenEnv: "FLEET_TARGET_BOB" });
    expect(env.statusCode).toBe(400);
    expect(env.json().error.message).toContain("server.targetSecrets.envPrefix");
  });

  it("does tell admins, not viewers, which sources this collector allows", async () => {
    const me = (app: AuthApp, token: string) =>
      as(app, { method: "GET", url: "/api/v1/auth/me" }, token).then((r) => r.json<AuthMe>());
    expect((await me(a, ADMIN_TOKEN)).targetTokenSources).toEqual(["token", "file", "env"]);
    expect((await me(bare, ADMIN_TOKEN)).targetTokenSources).toEqual(["token"]);
    expect((await me(a, VIEWER_TOKEN)).targetTokenSources).toBeUndefined();
  });
});
