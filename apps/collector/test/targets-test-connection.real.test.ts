/**
 * POST /api/v1/targets/test (issue 17) against a REAL codex app-server: a bad URL is a 400 naming
 * `url`, a refused token answers its reason, the right one the server's codex version; the stored
 * token of a managed target is lent by name; only the handshake ever leaves the collector.
 */
import { createServer, type Server, type Socket } from "node:net";
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetTestResult } from "@codex-fleet/protocol/targets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testTargetConnection } from "../src/targets/test-connection.ts";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const SERVER_TOKEN = "app-server-token-3c9d1e7a5b";

let mock: MockModel;
let server: AppServer;
let testDb: TestDatabase;
let fleet: AuthApp;
/** A TCP port that accepts and never speaks (not an app-server, no HTTP answer). */
let silent: Server;
let silentPort: number;
const silentSockets: Socket[] = [];

beforeAll(async () => {
  mock = await startMockModel();
  server = await startAppServer({ modelUrl: mock.baseUrl, token: SERVER_TOKEN, name: "test-conn" });
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      "observer: { connectTimeoutMs: 1500 }",
    ].join("\n"),
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
  });
  silent = createServer((socket) => {
    silentSockets.push(socket);
    socket.resume(); // read (and drop) what arrives, so that the peer's close is seen
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  silentPort = (silent.address() as { port: number }).port;
}, 120_000);

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  await fleet?.stop();
  await server?.dispose();
  await mock?.close();
  await testDb?.drop();
  await removeScratchDirs();
});

const test = (payload: unknown, token = ADMIN_TOKEN) =>
  fleet.app.inject({
    method: "POST",
    url: "/api/v1/targets/test",
    payload: payload as object,
    headers: { authorization: `Bearer ${token}` },
  });

describe("POST /api/v1/targets/test", () => {
  it.each([
    [{ url: "http://127.0.0.1:1" }, "url"],
    [{ url: "not a url" }, "url"],
    [{ url: "ws://user:pw@127.0.0.1:1" }, "url"],
    // DESIGN rule 7: no bearer token over plain ws:// to a non-loopback host.
    [{ url: "ws://10.1.2.3:4500", token: "abc" }, "url"],
    // SSRF: cloud metadata is never a destination.
    [{ url: "ws://169.254.169.254:80" }, "url"],
    [{ url: "ws://127.0.0.1:1", token: "a b" }, "token"],
    [{ url: "ws://127.0.0.1:1", tokenFile: "/etc/passwd" }, "tokenFile"],
  ])("does answer a 400 naming the field for %j", async (body, param) => {
    const res = await test(body);
    expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
  });

  it("does refuse a viewer", async () => {
    const res = await test({ url: server.url, token: SERVER_TOKEN }, VIEWER_TOKEN);
    expect(res.statusCode).toBe(403);
  });

  it("does answer the refused token's reason", async () => {
    const res = await test({ url: server.url, token: "not-the-token" });
    expect(res.statusCode).toBe(200);
    const body = res.json() as TargetTestResult;
    expect(body).toMatchObject({ ok: false, reason: "unauthorized", codexVersion: null });
    expect(body.error).toMatch(/401/);
    expect(JSON.stringify(body)).not.toContain("not-the-token");
  });

  it("does answer a missing token's reason", async () => {
    const body = (await test({ url: server.url })).json() as TargetTestResult;
    expect(body).toMatchObject({ ok: false, reason: "unauthorized" });
  });

  it("does answer success with the server's codex version", async () => {
    const body = (await test({ url: server.url, token: SERVER_TOKEN })).json() as TargetTestResult;
    expect(body).toMatchObject({ ok: true, reason: null, error: null });
    expect(body.codexVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.userAgent).toContain(body.codexVersion);
    // Nothing was added: a test is not a save.
    expect(fleet.fleet.targets.size).toBe(0);
  });

  it("does answer refused for a closed port", async () => {
    const port = await closedPort();
    const body = (await test({ url: `ws://127.0.0.1:${port}` })).json() as TargetTestResult;
    expect(body).toMatchObject({ ok: false, reason: "refused" });
  });

  it("does answer timeout for a peer that never speaks, within the connect timeout", async () => {
    const body = (await test({ url: `ws://127.0.0.1:${silentPort}` })).json() as TargetTestResult;
    expect(body).toMatchObject({ ok: false, reason: "timeout" });
    expect(body.elapsedMs).toBeLessThan(5000);
    // The attempt's socket is closed, not left open behind the answer.
    await waitUntil("the silent peer's socket closed", () => silentSockets.every((s) => s.closed), 3000);
    expect(silentSockets.length).toBeGreaterThan(0);
  });

  it("does lend a managed target's stored token by name, and never a config target's", async () => {
    const add = await fleet.app.inject({
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "managed-one", url: server.url, token: SERVER_TOKEN },
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(add.statusCode).toBe(201);
    const lent = (await test({ name: "managed-one", url: server.url })).json() as TargetTestResult;
    expect(lent.ok).toBe(true);
    // An explicit null means "no token": nothing is lent.
    const none = (await test({ name: "managed-one", url: server.url, token: null })).json();
    expect(none).toMatchObject({ ok: false, reason: "unauthorized" });
    await fleet.app.inject({
      method: "DELETE",
      url: "/api/v1/targets/managed-one",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
  });
});

describe("testTargetConnection", () => {
  it("does send only initialize and initialized, then close", async () => {
    const sent: string[] = [];
    const result = await testTargetConnection({
      url: server.url,
      token: { reveal: () => SERVER_TOKEN },
      observer: fleet.config.observer,
      clientVersion: "test",
      onSent: (frame) => sent.push(String(frame.method)),
    });
    expect(result.ok).toBe(true);
    expect(sent).toEqual(["initialize", "initialized"]);
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
