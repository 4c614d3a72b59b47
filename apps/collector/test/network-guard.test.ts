/**
 * Issue "Hostile input, round two", findings 4 and 5 (and 6's logout), with real requests over a
 * real Postgres: SSRF through targets (link-local and metadata destinations refused, a non-WebSocket
 * answer never echoed to a viewer), and a collector without auth that a browser page on another
 * site cannot drive (Host check against DNS rebinding, Origin check on changes and the live feed).
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { TargetView } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { errorOf, loadFile, removeScratchDirs } from "./support/config-files.ts";

const SECRET_BODY = "AccessKeyId=AKIA-SECRET-FROM-METADATA";

let testDb: TestDatabase;
/** Auth on, for the target admin API and a viewer reading lastError. */
let guarded: AuthApp;
/** `auth.mode: auto` on 127.0.0.1: auth off. */
let open: AuthApp;
/** An HTTP server that is not an app-server: 404 with a secret body to every request. */
let plainHttp: Server;
let plainHttpPort: number;

beforeAll(async () => {
  testDb = await createTestDatabase();
  plainHttp = createServer((_req, res) =>
    res.writeHead(404, { "content-type": "text/plain" }).end(SECRET_BODY),
  );
  await new Promise<void>((resolve) => plainHttp.listen(0, "127.0.0.1", resolve));
  plainHttpPort = (plainHttp.address() as AddressInfo).port;
  guarded = await startAuthApp({
    db: testDb,
    listen: true,
    yaml: [
      "server: { host: 127.0.0.1, port: 0 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      "observer: { minBackoffMs: 60000, maxBackoffMs: 60000 }",
    ].join("\n"),
  });
  open = await startAuthApp({
    db: testDb,
    listen: true,
    yaml: "server: { host: 127.0.0.1, port: 0 }\nauth: { mode: auto }",
  });
}, 60_000);

afterAll(async () => {
  await guarded?.stop();
  await open?.stop();
  plainHttp?.close();
  await testDb?.drop();
  await removeScratchDirs();
});

interface Answer {
  status: number;
  json: { error?: { code: string; message: string; param?: string } } & Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** A real HTTP request (node:http, so that Host can be anything). */
function send(
  base: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: unknown },
): Promise<Answer> {
  const url = new URL(opts.path, base);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method ?? "GET",
        headers: {
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...opts.headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {}, headers: res.headers }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };
const viewerHeaders = { authorization: `Bearer ${VIEWER_TOKEN}` };

describe("SSRF through targets (finding 4)", () => {
  it.each([
    "ws://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "ws://[::ffff:169.254.169.254]",
    "ws://2852039166/",
    "ws://0xa9fea9fe:80/",
    "ws://[fe80::1]:4500",
    "ws://[fd00:ec2::254]/",
    "ws://metadata.google.internal/computeMetadata/v1/",
  ])("does answer POST /api/v1/targets with %s with a 400 naming url", async (url) => {
    const res = await send(guarded.baseUrl, {
      method: "POST",
      path: "/api/v1/targets",
      headers: adminHeaders,
      body: { name: "meta", url },
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({
      param: "url",
      message: expect.stringMatching(/^url: refusing to connect to /),
    });
    expect(guarded.fleet.targets.has("meta")).toBe(false);
  });

  it("does accept loopback and LAN targets (how developers expose app-servers)", async () => {
    for (const [name, url] of [
      ["lan", "ws://192.168.77.1:4500"],
      ["loop", "ws://localhost:1"],
    ] as const) {
      const res = await send(guarded.baseUrl, {
        method: "POST",
        path: "/api/v1/targets",
        headers: adminHeaders,
        body: { name, url },
      });
      expect([name, res.status]).toEqual([name, 201]);
      await send(guarded.baseUrl, {
        method: "DELETE",
        path: `/api/v1/targets/${name}`,
        headers: adminHeaders,
      });
    }
  });

  it("does never show a viewer the body of a non-WebSocket answer in lastError", async () => {
    const add = await send(guarded.baseUrl, {
      method: "POST",
      path: "/api/v1/targets",
      headers: adminHeaders,
      body: { name: "plain-http", url: `ws://127.0.0.1:${plainHttpPort}/latest/meta-data/` },
    });
    expect(add.status).toBe(201);
    let view: TargetView | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const list = await send(guarded.baseUrl, { path: "/api/v1/targets", headers: viewerHeaders });
      expect(list.status).toBe(200);
      view = (list.json as unknown as TargetView[]).find((t) => t.name === "plain-http");
      if (view?.lastError) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(view).toMatchObject({
      state: "backoff",
      reason: "protocol",
      lastError: "HTTP 404 (not a codex app-server WebSocket)",
    });
    const everything = JSON.stringify(
      (await send(guarded.baseUrl, { path: "/api/v1/targets", headers: viewerHeaders })).json,
    );
    expect(everything).not.toContain("AKIA");
    expect(everything).not.toContain("AccessKeyId");
  });

  it("does refuse config-file targets and receivers on link-local addresses, naming the key", async () => {
    const message = await errorOf(
      loadFile(
        [
          "targets: [{ name: meta, url: 'ws://[::ffff:169.254.169.254]:80' }]",
          "alerts: { notify: [{ type: webhook, url: 'http://169.254.169.254/hook' }] }",
        ].join("\n"),
      ),
    );
    expect(message).toMatch(
      /targets\[0\]\.url: refusing to connect to ::ffff:a9fe:a9fe: a link-local address/,
    );
    expect(message).toMatch(/alerts\.notify\[0\]\.url: refusing to connect to 169\.254\.169\.254/);
  });

  it("does accept them with network.allowLinkLocal: true", async () => {
    const { config } = await loadFile(
      [
        "network: { allowLinkLocal: true }",
        "targets: [{ name: meta, url: 'ws://169.254.10.10:80' }]",
        "alerts: { notify: [{ type: webhook, url: 'http://169.254.169.254/hook' }] }",
      ].join("\n"),
    );
    expect(config.network.allowLinkLocal).toBe(true);
    expect(config.observer.allowLinkLocal).toBe(true);
  });
});

describe("a collector without auth is not reachable from a browser (finding 5)", () => {
  const port = () => new URL(open.baseUrl).port;
  const liveUrl = () => `${open.baseUrl.replace("http:", "ws:")}/api/v1/live`;
  /** Open the live feed: resolves with the first message, or the status the upgrade got. */
  const live = (headers: Record<string, string>) =>
    new Promise<{ status: number; first?: { type: string } }>((resolve, reject) => {
      const ws = new WebSocket(liveUrl(), { headers });
      ws.on("unexpected-response", (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        ws.terminate();
      });
      ws.on("message", (data) => {
        resolve({ status: 101, first: JSON.parse(String(data)) });
        ws.close();
      });
      ws.on("error", reject);
    });

  it("does run with auth off", () => {
    expect(open.config.auth.enabled).toBe(false);
  });

  it("does refuse a DNS-rebinding Host on reads and changes", async () => {
    const host = { host: `rebind.attacker.example:${port()}` };
    const read = await send(open.baseUrl, { path: "/api/v1/targets", headers: host });
    expect(read.status).toBe(421);
    expect(read.json.error).toMatchObject({
      code: "BAD_HOST",
      message: expect.stringMatching(/server\.allowedHosts/),
    });
    const add = await send(open.baseUrl, {
      method: "POST",
      path: "/api/v1/targets",
      headers: host,
      body: { name: "rebound", url: "ws://127.0.0.1:1" },
    });
    expect(add.status).toBe(421);
    expect(open.fleet.targets.has("rebound")).toBe(false);
    expect(await live(host)).toEqual({ status: 421 });
  });

  it("does answer the collector's own Host names", async () => {
    for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`, `[::1]:${port()}`, "app.localhost"]) {
      expect([
        host,
        (await send(open.baseUrl, { path: "/api/v1/targets", headers: { host } })).status,
      ]).toEqual([host, 200]);
    }
  });

  it("does refuse the live feed to a foreign Origin (cross-site WebSocket hijacking): no snapshot", async () => {
    expect(await live({ origin: "http://evil.example" })).toEqual({ status: 403 });
  });

  it("does open the live feed for its own origin and for clients without Origin", async () => {
    expect((await live({ origin: open.baseUrl })).first?.type).toBe("snapshot");
    expect((await live({})).first?.type).toBe("snapshot");
  });

  it("does refuse a change from a foreign Origin, and accept it from its own origin or without one", async () => {
    const post = (name: string, headers: Record<string, string>) =>
      send(open.baseUrl, {
        method: "POST",
        path: "/api/v1/targets",
        headers,
        body: { name, url: "ws://127.0.0.1:1" },
      });
    const foreign = await post("csrf", { origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    expect(foreign.json.error?.code).toBe("BAD_ORIGIN");
    expect(open.fleet.targets.has("csrf")).toBe(false);
    expect((await post("same-origin", { origin: open.baseUrl })).status).toBe(201);
    expect((await post("curl", {})).status).toBe(201);
    const remove = await send(open.baseUrl, {
      method: "DELETE",
      path: "/api/v1/targets/curl",
      headers: { origin: "http://evil.example" },
    });
    expect(remove.status).toBe(403);
  });
});

describe("logout and the Origin rule (finding 6)", () => {
  it("does refuse a logout from a foreign Origin and accept it from its own", async () => {
    const foreign = await send(guarded.baseUrl, {
      method: "POST",
      path: "/api/v1/auth/logout",
      headers: { origin: "http://evil.example" },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers["set-cookie"]).toBeUndefined();
    const own = await send(guarded.baseUrl, {
      method: "POST",
      path: "/api/v1/auth/logout",
      headers: { origin: guarded.baseUrl },
    });
    expect(own.status).toBe(204);
  });
});
