/**
 * Access control through `app.inject` and a real WebSocket client on port 0, over a real
 * Postgres: sign-in, cookie flags, sessions and bearer tokens, roles, the Origin check, the login
 * rate limit, security headers, and auth off on loopback.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { inlineScriptHashes } from "../src/auth/security-headers.ts";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const MIN = 60_000;
let testDb: TestDatabase;
let now = Date.UTC(2026, 10, 22, 9);
let fleet: AuthApp;
let dashboardDir: string;
const INLINE = `<script>document.documentElement.dataset.theme = "dark";</script>`;

beforeAll(async () => {
  testDb = await createTestDatabase();
  dashboardDir = await mkdtemp(join(tmpdir(), "fleet-auth-dash-"));
  await writeFile(join(dashboardDir, "index.html"), `<!doctype html><html><head>${INLINE}</head></html>`);
  fleet = await startAuthApp({ db: testDb, now: () => now, listen: true, dashboardDir });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
  if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
});

// Each test starts in a fresh rate-limit window.
beforeEach(() => {
  now += 10 * MIN;
});

const inject = (opts: InjectOptions) => fleet.app.inject(opts);
const login = (token: unknown, headers: Record<string, string> = {}, remoteAddress?: string) =>
  inject({ method: "POST", url: "/api/v1/auth/login", payload: { token }, headers, remoteAddress });
const setCookie = (res: LightMyRequestResponse): string =>
  [res.headers["set-cookie"] ?? []].flat().join("\n");

/** The `fleet_session=…` pair to send back. */
async function sessionOf(token: string): Promise<string> {
  const res = await login(token);
  expect(res.statusCode).toBe(200);
  return setCookie(res).split(";")[0] ?? "";
}

describe("sign-in", () => {
  it("does answer 401 naming how to sign in when a request has no session", async () => {
    for (const url of [
      "/api/v1/targets",
      "/api/v1/threads",
      "/api/v1/usage",
      "/api/v1/alerts",
      "/api/v1/silences",
      "/api/v1/targets/alice",
      "/api/v1/no-such-route",
      "/%61pi/v1/targets", // the router decodes it to /api/v1/targets: no way around the check
      "/metrics",
    ]) {
      const res = await inject({ url });
      expect([url, res.statusCode]).toEqual([url, 401]);
      expect(res.json().error.code).toBe("UNAUTHORIZED");
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="codex-fleet"');
    }
  });

  it("does keep health checks and the dashboard's files open when auth is on", async () => {
    for (const url of ["/healthz", "/readyz", "/", "/usage"]) {
      expect([url, (await inject({ url })).statusCode]).toEqual([url, 200]);
    }
  });

  it.each([
    ["admin", ADMIN_TOKEN],
    ["viewer", VIEWER_TOKEN],
  ])("does exchange the %s token for an httpOnly SameSite=Strict session cookie", async (role, token) => {
    const res = await login(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      role,
      authEnabled: true,
      expiresAt: new Date(now + 12 * 60 * MIN).toISOString(),
      principal: { kind: "token", name: `${role} token`, email: null },
      oidc: false,
      // Admins learn where a target's token may come from (server.targetSecrets: none here).
      ...(role === "admin" ? { targetTokenSources: ["token"] } : {}),
    });
    const cookie = setCookie(res);
    expect(cookie).toMatch(/^fleet_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie.split("; ").slice(1).sort()).toEqual([
      "HttpOnly",
      "Max-Age=43200",
      "Path=/",
      "SameSite=Strict",
    ]);
    const session = cookie.split(";")[0] ?? "";
    const me = await inject({ url: "/api/v1/auth/me", headers: { cookie: session } });
    expect(me.json()).toMatchObject({ role, authEnabled: true });
    expect((await inject({ url: "/api/v1/targets", headers: { cookie: session } })).statusCode).toBe(200);
  });

  it.each([
    ["a wrong token", "not-the-token-at-all", 401, undefined],
    ["an empty token", "  ", 400, "token"],
    ["a number", 42, 400, "token"],
  ])("does refuse %s without a cookie", async (_, token, status, param) => {
    const res = await login(token);
    expect(res.statusCode).toBe(status);
    expect(res.json().error.param).toBe(param);
    expect(res.headers["set-cookie"]).toBeUndefined();
  });

  it("does end the session on sign-out and clear the cookie", async () => {
    const session = await sessionOf(ADMIN_TOKEN);
    const out = await inject({ method: "POST", url: "/api/v1/auth/logout", headers: { cookie: session } });
    expect(out.statusCode).toBe(204);
    expect(setCookie(out)).toMatch(/^fleet_session=; /);
    expect(setCookie(out).split("; ").slice(1).sort()).toEqual([
      "HttpOnly",
      "Max-Age=0",
      "Path=/",
      "SameSite=Strict",
    ]);
    expect((await inject({ url: "/api/v1/auth/me", headers: { cookie: session } })).statusCode).toBe(401);
  });

  it("does expire a session after sessionTtlMs", async () => {
    const session = await sessionOf(VIEWER_TOKEN);
    now += 12 * 60 * MIN - 1;
    expect((await inject({ url: "/api/v1/threads", headers: { cookie: session } })).statusCode).toBe(200);
    now += 1;
    expect((await inject({ url: "/api/v1/threads", headers: { cookie: session } })).statusCode).toBe(401);
  });

  it.each([
    [`Bearer ${VIEWER_TOKEN}`, 200],
    [`bearer ${ADMIN_TOKEN}`, 200],
    ["Bearer wrong-token-0123456789", 401],
    [`Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString("base64")}`, 401],
    ["Bearer", 401],
  ])("does answer /metrics for Authorization %s with %i", async (authorization, status) => {
    expect((await inject({ url: "/metrics", headers: { authorization } })).statusCode).toBe(status);
  });
});

describe("roles", () => {
  const ADMIN_ONLY: [string, string, unknown][] = [
    [
      "POST",
      "/api/v1/silences",
      { matchers: { target: "a" }, endsAt: Date.now() + 86_400_000, createdBy: "x" },
    ],
    ["DELETE", "/api/v1/silences/0b5e1b6e-0000-4000-8000-000000000000", undefined],
    ["POST", "/api/v1/targets", { name: "zed", url: "ws://127.0.0.1:1" }],
    ["PUT", "/api/v1/targets/zed", { url: "ws://127.0.0.1:1" }],
    ["DELETE", "/api/v1/targets/zed", undefined],
  ];

  it("does answer 403 to a viewer on every admin route, and not to an admin", async () => {
    const viewer = await sessionOf(VIEWER_TOKEN);
    const admin = await sessionOf(ADMIN_TOKEN);
    const origin = "http://fleet.test";
    for (const [method, url, payload] of ADMIN_ONLY) {
      const as = (cookie: string) =>
        inject({
          method: method as "POST",
          url,
          payload: payload as object,
          headers: { cookie, origin, host: "fleet.test" },
        });
      const denied = await as(viewer);
      expect([method, url, denied.statusCode, denied.json().error.code]).toEqual([
        method,
        url,
        403,
        "FORBIDDEN",
      ]);
      expect([method, url, (await as(admin)).statusCode]).not.toEqual([method, url, 403]);
    }
    await inject({
      method: "DELETE",
      url: "/api/v1/targets/zed",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
  });

  it("does let a viewer acknowledge an alert (an on-call action)", async () => {
    const viewer = await sessionOf(VIEWER_TOKEN);
    const res = await inject({
      method: "POST",
      url: "/api/v1/alerts/no-such-alert/ack",
      payload: { by: "oncall" },
      headers: { cookie: viewer, origin: "http://fleet.test", host: "fleet.test" },
    });
    expect(res.statusCode).toBe(404); // reached the route: not 401/403
  });
});

describe("the Origin check", () => {
  // Silences end at most 366 days ahead of the alert engine's (real) clock.
  const silence = { matchers: { target: "nobody" }, endsAt: Date.now() + 86_400_000, createdBy: "test" };
  it.each([
    ["a foreign origin", 403, { origin: "http://evil.example", host: "fleet.test" }],
    ["no origin", 403, { host: "fleet.test" }],
    ["a look-alike port", 403, { origin: "http://fleet.test:8081", host: "fleet.test" }],
    ["its own origin", 201, { origin: "http://fleet.test", host: "fleet.test" }],
    ["its own origin with the default port", 201, { origin: "http://fleet.test", host: "fleet.test:80" }],
  ])("does answer a cookie POST from %s with %i", async (_, status, headers) => {
    const cookie = await sessionOf(ADMIN_TOKEN);
    const res = await inject({
      method: "POST",
      url: "/api/v1/silences",
      payload: silence,
      headers: { cookie, ...headers },
    });
    expect(res.statusCode).toBe(status);
    if (status === 403) expect(res.json().error.code).toBe("BAD_ORIGIN");
  });

  it("does accept a bearer POST without Origin (curl) but not from a foreign origin", async () => {
    const authorization = `Bearer ${ADMIN_TOKEN}`;
    const post = (headers: Record<string, string>) =>
      inject({
        method: "POST",
        url: "/api/v1/silences",
        payload: silence,
        headers: { authorization, ...headers },
      });
    expect((await post({})).statusCode).toBe(201);
    expect((await post({ origin: "http://evil.example" })).statusCode).toBe(403);
  });

  it("does refuse a sign-in posted from a foreign origin", async () => {
    expect((await login(ADMIN_TOKEN, { origin: "http://evil.example" })).statusCode).toBe(403);
  });
});

describe("the live feed", () => {
  const wsUrl = () => `${fleet.baseUrl.replace("http:", "ws:")}/api/v1/live`;
  /** Open a socket: resolves with the first message, or the HTTP status the upgrade got. */
  const connect = (headers: Record<string, string>) =>
    new Promise<{ status: number; first?: { type: string } }>((resolve, reject) => {
      const ws = new WebSocket(wsUrl(), { headers });
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

  it("does refuse the upgrade without a session", async () => {
    expect(await connect({})).toEqual({ status: 401 });
  });

  it("does refuse a session from a foreign Origin or with none (cross-site WebSocket hijacking)", async () => {
    const cookie = await sessionOf(VIEWER_TOKEN);
    expect(await connect({ cookie, origin: "http://evil.example" })).toEqual({ status: 403 });
    expect(await connect({ cookie })).toEqual({ status: 403 });
  });

  it("does open for a session from the collector's own origin and send the snapshot", async () => {
    const cookie = await sessionOf(VIEWER_TOKEN);
    const result = await connect({ cookie, origin: fleet.baseUrl });
    expect(result.status).toBe(101);
    expect(result.first?.type).toBe("snapshot");
  });

  it("does open for a bearer token without Origin (a script)", async () => {
    expect((await connect({ authorization: `Bearer ${VIEWER_TOKEN}` })).first?.type).toBe("snapshot");
  });
});

describe("the login rate limit", () => {
  it("does answer 429 with Retry-After after 10 attempts in 5 minutes, per address", async () => {
    const ip = "10.1.2.3";
    for (let i = 0; i < 9; i++) expect((await login("wrong-token-0123456789", {}, ip)).statusCode).toBe(401);
    expect((await login(ADMIN_TOKEN, {}, ip)).statusCode).toBe(200); // the 10th
    now += MIN;
    const limited = await login(ADMIN_TOKEN, {}, ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toBe("240");
    expect(limited.json().error.code).toBe("RATE_LIMITED");
    expect((await login(ADMIN_TOKEN, {}, "10.9.9.9")).statusCode).toBe(200); // another address
    now += 4 * MIN;
    expect((await login(ADMIN_TOKEN, {}, ip)).statusCode).toBe(200); // the window moved on
  });

  it("does count wrong bearer tokens against the same limit", async () => {
    const ip = "10.4.5.6";
    const bearer = (token: string) =>
      inject({ url: "/api/v1/threads", headers: { authorization: `Bearer ${token}` }, remoteAddress: ip });
    for (let i = 0; i < 10; i++) expect((await bearer("wrong-token-0123456789")).statusCode).toBe(401);
    expect((await bearer("wrong-token-0123456789")).statusCode).toBe(429);
    expect((await bearer(VIEWER_TOKEN)).statusCode).toBe(200); // a right token is never limited
  });
});

describe("security headers", () => {
  it("does send them on every kind of answer", async () => {
    const cookie = await sessionOf(VIEWER_TOKEN);
    for (const [url, status, headers] of [
      ["/api/v1/targets", 200, { cookie }],
      ["/api/v1/targets", 401, {}],
      ["/api/v1/nothing", 404, { cookie }],
      ["/healthz", 200, {}],
      ["/", 200, {}],
    ] as const) {
      const res = await inject({ url, headers });
      expect([url, res.statusCode]).toEqual([url, status]);
      expect(res.headers).toMatchObject({
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
      });
      const csp = String(res.headers["content-security-policy"]);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("connect-src 'self' ws: wss:");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers["strict-transport-security"]).toBeUndefined(); // plain http here
    }
    expect((await inject({ url: "/api/v1/targets", headers: { cookie } })).headers["cache-control"]).toBe(
      "no-store",
    );
  });

  it("does allow exactly the dashboard's inline script by its hash", async () => {
    const csp = String((await inject({ url: "/" })).headers["content-security-policy"]);
    const [hash] = inlineScriptHashes(INLINE);
    expect(csp).toContain(`script-src 'self' ${hash}`);
    expect(csp).not.toContain("unsafe-inline");
  });

  it("does add HSTS and Secure cookies when publicUrl is https", async () => {
    const https = await startAuthApp({
      db: testDb,
      yaml: [
        "server: { host: 127.0.0.1, publicUrl: 'https://fleet.example.com' }",
        "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN }",
      ].join("\n"),
    });
    try {
      const res = await https.app.inject({
        method: "POST",
        url: "/api/v1/auth/login",
        payload: { token: ADMIN_TOKEN },
      });
      expect(setCookie(res).split("; ")).toContain("Secure");
      expect(res.headers["strict-transport-security"]).toBe("max-age=31536000");
      // The public origin is the browser's origin behind a TLS proxy: allowed for changes.
      const session = setCookie(res).split(";")[0] ?? "";
      const post = await https.app.inject({
        method: "POST",
        url: "/api/v1/targets",
        payload: { name: "via-proxy", url: "ws://127.0.0.1:1" },
        headers: { cookie: session, origin: "https://fleet.example.com", host: "10.0.0.5:8080" },
      });
      expect(post.statusCode).toBe(201);
    } finally {
      await https.stop();
    }
  });
});

describe("auth off on loopback", () => {
  it("does serve everything without a session when auth.mode is auto on 127.0.0.1", async () => {
    const open = await startAuthApp({ db: testDb, yaml: "server: { host: 127.0.0.1 }\nauth: {}" });
    try {
      expect(open.config.auth).toMatchObject({ mode: "auto", enabled: false });
      expect((await open.app.inject({ url: "/api/v1/targets" })).statusCode).toBe(200);
      expect((await open.app.inject({ url: "/metrics" })).statusCode).toBe(200);
      expect((await open.app.inject({ url: "/api/v1/auth/me" })).json()).toEqual({
        role: "admin",
        authEnabled: false,
        expiresAt: null,
        principal: { kind: "none", name: "", email: null },
        oidc: false,
        targetTokenSources: ["token"],
      });
      const signIn = await open.app.inject({
        method: "POST",
        url: "/api/v1/auth/login",
        payload: { token: "x" },
      });
      expect(signIn.statusCode).toBe(409);
      // Headers are on even without auth.
      expect((await open.app.inject({ url: "/healthz" })).headers["x-frame-options"]).toBe("DENY");
    } finally {
      await open.stop();
    }
  });
});
