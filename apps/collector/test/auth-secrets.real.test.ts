/**
 * THE SECRET TEST (issue #6): target tokens from a file, from the environment and added through
 * the admin API — each the capability token of a real `codex app-server` — carry a real flow
 * (connect, a turn, usage counted), plus a wrong token and a refused sign-in. Then every log line
 * and every API answer (bodies and headers: targets, threads, usage, alerts, metrics, CSV, the
 * live snapshot) and every database row is searched: no token, admin/viewer token or encryption
 * key appears anywhere. The stored ciphertext is not the token and decrypts back to it.
 */
import { randomBytes } from "node:crypto";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Secret } from "../src/config/secret.ts";
import { TokenCipher } from "../src/targets/token-cipher.ts";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const secret = (label: string) => `${label}-${randomBytes(18).toString("hex")}`;
const FILE_TOKEN = secret("file");
const ENV_TOKEN = secret("env");
const API_TOKEN = secret("api");
const WRONG_TOKEN = secret("wrong");
const WRONG_LOGIN = secret("login");

let mock: MockModel;
let servers: { file: AppServer; env: AppServer; api: AppServer };
let testDb: TestDatabase;
let fleet: AuthApp;
const clients: DevClient[] = [];
/** Everything the collector answered: [what, body + headers]. */
const answers: [string, string][] = [];

/** fetch over the real socket; records the answer for the search. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${fleet.baseUrl}${path}`, init);
  const body = await res.clone().text();
  answers.push([`${init.method ?? "GET"} ${path}`, `${JSON.stringify([...res.headers])}\n${body}`]);
  return res;
}

beforeAll(async () => {
  mock = await startMockModel();
  const [file, env, api] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, token: FILE_TOKEN, name: "secret-file" }),
    startAppServer({ modelUrl: mock.baseUrl, token: ENV_TOKEN, name: "secret-env" }),
    startAppServer({ modelUrl: mock.baseUrl, token: API_TOKEN, name: "secret-api" }),
  ]);
  servers = { file, env, api };
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    listen: true,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      "targets:",
      `  - { name: from-file, team: core, url: '${file.url}', tokenFile: file.token }`,
      `  - { name: from-env, team: core, url: '${env.url}', tokenEnv: TARGET_TOKEN }`,
      "observer: { idleUnsubscribeMs: 2000, minBackoffMs: 100, maxBackoffMs: 1000, connectTimeoutMs: 5000 }",
      "logLevel: debug",
    ].join("\n"),
    env: { TARGET_TOKEN: ENV_TOKEN, CODEX_FLEET_SECRET_KEY: SECRET_KEY },
    files: { "file.token": `${FILE_TOKEN}\n` },
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await fleet?.stop();
  await Promise.all(Object.values(servers ?? {}).map((s) => s.dispose()));
  await mock?.close();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("target tokens stay secret", () => {
  it("does run a real flow with tokens from a file, the environment and the API", async () => {
    // Sign in like the dashboard: a refused token first, then the admin token.
    const origin = fleet.baseUrl;
    const json = { "content-type": "application/json", origin };
    expect(
      (
        await call("/api/v1/auth/login", {
          method: "POST",
          headers: json,
          body: JSON.stringify({ token: WRONG_LOGIN }),
        })
      ).status,
    ).toBe(401);
    const login = await call("/api/v1/auth/login", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ token: ADMIN_TOKEN }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const authed = { ...json, cookie };
    for (const [name, token] of [
      ["from-api", API_TOKEN],
      ["wrong-token", WRONG_TOKEN],
    ] as const) {
      const res = await call("/api/v1/targets", {
        method: "POST",
        headers: authed,
        body: JSON.stringify({ name, team: "core", url: servers.api.url, token }),
      });
      expect(res.status).toBe(201);
    }

    await waitUntil("three targets open and one unauthorized", () => {
      const state = (n: string) => fleet.fleet.targets.get(n)?.status;
      return (
        ["from-file", "from-env", "from-api"].every((n) => state(n)?.state === "open") &&
        state("wrong-token")?.reason === "unauthorized"
      );
    });

    // One turn on each server, as a developer would run it.
    const threads: string[] = [];
    for (const server of [servers.file, servers.env, servers.api]) {
      const dev = await connectDevClient({ url: server.url, token: server.token, name: "codex_vscode" });
      clients.push(dev);
      const thread = await dev.startThread({ cwd: server.cwd });
      await dev.waitForTurnCompleted(thread, await dev.startTurn(thread, "hello"));
      threads.push(thread);
    }
    await waitUntil("usage counted for every thread", async () => {
      await fleet.fleet.flush();
      return threads.every((id) => (fleet.fleet.threads.get(id)?.countedTotalTokens ?? 0) > 0);
    });

    // Every kind of answer, as admin and as a viewer by bearer token.
    const viewer = { authorization: `Bearer ${VIEWER_TOKEN}` };
    for (const path of [
      "/api/v1/auth/me",
      "/api/v1/targets",
      "/api/v1/targets?format=csv",
      "/api/v1/threads",
      "/api/v1/threads?format=csv",
      ...threads.map((id) => `/api/v1/threads/${id}`),
      "/api/v1/usage?groupBy=target,model",
      "/api/v1/usage?groupBy=day&format=csv",
      "/api/v1/alerts",
      "/api/v1/silences",
      "/metrics",
      ...["from-file", "from-env", "from-api", "wrong-token"].map((n) => `/api/v1/targets/${n}`),
    ]) {
      expect([path, (await call(path, { headers: { cookie } })).status]).toEqual([path, 200]);
      expect([path, (await call(path, { headers: viewer })).status]).toEqual([path, 200]);
    }
    const adminView = await (await call("/api/v1/targets/from-api", { headers: { cookie } })).json();
    expect(adminView).toMatchObject({ managed: true, hasToken: true, state: "open" });
    expect(await (await call("/api/v1/targets/from-file", { headers: { cookie } })).json()).toMatchObject({
      managed: false,
      hasToken: true,
    });
    answers.push(["live snapshot", await liveSnapshot(cookie, origin)]);
    expect(answers.at(-1)?.[1]).toContain('"type":"snapshot"');
    // A change and a removal, logged too.
    const bodiless = { origin, cookie };
    expect((await call("/api/v1/targets/wrong-token", { method: "DELETE", headers: bodiless })).status).toBe(
      204,
    );
    expect((await call("/api/v1/auth/logout", { method: "POST", headers: bodiless })).status).toBe(204);
  });

  it("does keep every token out of every log line, API answer and database row", async () => {
    const logs = fleet.logs.join("");
    // The search is only as good as what it searched: the logs and answers did see the flow.
    expect(logs).toContain("target added through the API");
    expect(logs).toContain("target removed through the API");
    expect(logs).toContain("sign-in refused");
    expect(logs).toContain("signed in");
    expect(logs).toMatch(/"target":"wrong-token".*unauthorized|unauthorized.*"target":"wrong-token"/);
    expect(answers.length).toBeGreaterThan(40);
    const rows = await databaseText();
    expect(rows).toContain("from-api");

    const secrets = {
      FILE_TOKEN,
      ENV_TOKEN,
      API_TOKEN,
      WRONG_TOKEN,
      WRONG_LOGIN,
      ADMIN_TOKEN,
      VIEWER_TOKEN,
      SECRET_KEY,
    };
    const found: string[] = [];
    for (const [label, value] of Object.entries(secrets)) {
      for (const form of [
        value,
        Buffer.from(value).toString("base64"),
        Buffer.from(value).toString("base64url"),
      ]) {
        if (logs.includes(form)) found.push(`${label} in the logs`);
        for (const [what, text] of answers) if (text.includes(form)) found.push(`${label} in ${what}`);
        if (rows.includes(form)) found.push(`${label} in the database`);
      }
    }
    expect(found).toEqual([]);
  });

  it("does store the API target's token only as ciphertext that decrypts back to it", async () => {
    const { rows } = await fleet.db.pool.query<{ token_ciphertext: string | null }>(
      "SELECT token_ciphertext FROM target WHERE id = 'from-api'",
    );
    const stored = rows[0]?.token_ciphertext ?? "";
    expect(stored).toMatch(/^v1:/);
    expect(stored).not.toBe(API_TOKEN);
    expect(new TokenCipher(new Secret(SECRET_KEY)).decrypt("from-api", stored).reveal()).toBe(API_TOKEN);
    // Config targets keep their tokens in their file or variable only.
    const others = await fleet.db.pool.query("SELECT id FROM target WHERE token_ciphertext IS NOT NULL");
    expect(others.rows).toEqual([{ id: "from-api" }]);
  });
});

/** The first live-feed frame for a signed-in browser. */
function liveSnapshot(cookie: string, origin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${fleet.baseUrl.replace("http:", "ws:")}/api/v1/live`, {
      headers: { cookie, origin },
    });
    ws.on("message", (data) => {
      resolve(String(data));
      ws.close();
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`live feed answered ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

/** Every row of every table in the database, as JSON text. */
async function databaseText(): Promise<string> {
  const { pool } = fleet.db;
  const tables = await pool.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
  );
  const parts: string[] = [];
  for (const { name } of tables.rows) {
    const { rows } = await pool.query(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
    for (const r of rows as { row: string }[]) parts.push(`${name}: ${r.row}`);
  }
  return parts.join("\n");
}
