/**
 * Every API route answers bad parameters with a 400 that names the parameter (issue #6), signed
 * in as admin so that the check reached is the parameter's, not the role's. Table-driven over
 * routes: query keys, path parameters and JSON body fields.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";
import { routeTree } from "./support/route-tree.ts";

let testDb: TestDatabase;
let fleet: AuthApp;

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN }",
      "targets: [{ name: alice, url: 'ws://127.0.0.1:1' }]",
    ].join("\n"),
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
  });
  // A managed target for the PUT rows.
  await fleet.app.inject({
    method: "POST",
    url: "/api/v1/targets",
    payload: { name: "bob", url: "ws://127.0.0.1:2" },
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

const LONG = "x".repeat(201);
const future = () => Date.now() + 86_400_000;

/** [route, method, url, body, the parameter the 400 must name]. */
const CASES: [string, InjectOptions["method"], string, unknown, string][] = [
  ["targets", "GET", "/api/v1/targets?format=xml", undefined, "format"],
  ["targets", "GET", "/api/v1/targets?colour=red", undefined, "colour"],
  ["cluster", "GET", "/api/v1/cluster?instance=a", undefined, "instance"],
  ["threads", "GET", "/api/v1/threads?status=sleeping", undefined, "status"],
  ["threads", "GET", "/api/v1/threads?limit=0", undefined, "limit"],
  ["threads", "GET", "/api/v1/threads?limit=ten", undefined, "limit"],
  ["threads", "GET", "/api/v1/threads?target=a&target=b", undefined, "target"],
  ["threads", "GET", "/api/v1/threads?team=", undefined, "team"],
  ["thread", "GET", `/api/v1/threads/${LONG}`, undefined, "id"],
  ["thread", "GET", "/api/v1/threads/t1?turns=all", undefined, "turns"],
  ["usage", "GET", "/api/v1/usage?from=yesterday", undefined, "from"],
  ["usage", "GET", "/api/v1/usage?to=soon", undefined, "to"],
  // Out of range for JavaScript dates or Postgres timestamps: a 400, never a 500.
  ["usage", "GET", "/api/v1/usage?from=9999999999999999", undefined, "from"],
  ["usage", "GET", "/api/v1/usage?from=-200000-01-01T00:00:00Z", undefined, "from"],
  ["usage", "GET", "/api/v1/usage?to=%2B275760-09-13T00:00:00Z", undefined, "to"],
  ["usage", "GET", "/api/v1/usage?from=2026-11-02&to=2026-11-01", undefined, "from"],
  ["usage", "GET", "/api/v1/usage?groupBy=week", undefined, "groupBy"],
  ["usage", "GET", "/api/v1/usage?groupBy=day,hour", undefined, "groupBy"],
  ["usage", "GET", "/api/v1/usage?format=pdf", undefined, "format"],
  ["usage", "GET", "/api/v1/usage?sort=biggest", undefined, "sort"],
  ["usage", "GET", "/api/v1/usage?limit=0", undefined, "limit"],
  ["usage", "GET", "/api/v1/usage?limit=10001", undefined, "limit"],
  ["activity", "GET", "/api/v1/activity?groupBy=rootThread", undefined, "groupBy"],
  ["activity", "GET", "/api/v1/activity?from=2026-11-02&to=2026-11-01", undefined, "from"],
  ["activity", "GET", "/api/v1/activity?bucket=day", undefined, "bucket"],
  ["usage", "GET", "/api/v1/usage?model=a&model=b", undefined, "model"],
  ["usage failures", "GET", "/api/v1/usage/failures?groupBy=kind", undefined, "groupBy"],
  ["limits", "GET", "/api/v1/limits?format=pdf", undefined, "format"],
  ["limits", "GET", "/api/v1/limits?window=primary", undefined, "window"],
  ["limit history", "GET", "/api/v1/limits/history?target=alice&window=tertiary", undefined, "window"],
  ["limit history", "GET", "/api/v1/limits/history?limitId=codex", undefined, "target"],
  ["budgets", "GET", "/api/v1/budgets?scope=galaxy", undefined, "scope"],
  ["budgets", "GET", "/api/v1/budgets?period=day", undefined, "period"],
  ["pricing", "GET", "/api/v1/pricing?model=gpt-5.4", undefined, "model"],
  ["alerts", "GET", "/api/v1/alerts?state=open", undefined, "state"],
  ["alerts", "GET", "/api/v1/alerts?limit=-1", undefined, "limit"],
  ["alerts", "GET", "/api/v1/alerts?format=xml", undefined, "format"],
  ["alert rules", "GET", "/api/v1/alerts/rules?all=1", undefined, "all"],
  // An empty body is valid with auth on: the signed-in identity acknowledges (alerts-ack-identity.test.ts).
  ["ack", "POST", "/api/v1/alerts/a1/ack", { by: " " }, "by"],
  ["ack", "POST", "/api/v1/alerts/a1/ack", { by: "me", note: "x" }, "note"],
  ["ack", "POST", "/api/v1/alerts/a1/ack?by=me", { by: "me" }, "by"],
  ["ack", "POST", `/api/v1/alerts/${LONG}/ack`, { by: "me" }, "id"],
  ["silences", "GET", "/api/v1/silences?state=old", undefined, "state"],
  ["silences", "GET", "/api/v1/silences?limit=5001", undefined, "limit"],
  ["threads", "GET", "/api/v1/threads?limit=5001", undefined, "limit"],
  ["threads", "GET", "/api/v1/threads?cursor=%7B%7D", undefined, "cursor"],
  ["silence", "POST", "/api/v1/silences", { matchers: {}, endsAt: future(), createdBy: "me" }, "matchers"],
  [
    "silence",
    "POST",
    "/api/v1/silences",
    { matchers: { target: "a" }, endsAt: "soon", createdBy: "me" },
    "endsAt",
  ],
  [
    "silence",
    "POST",
    "/api/v1/silences",
    { matchers: { target: "a" }, endsAt: 1000, createdBy: "me" },
    "endsAt",
  ],
  ["silence", "POST", "/api/v1/silences", { matchers: { target: "a" }, endsAt: future() }, "createdBy"],
  [
    "silence",
    "POST",
    "/api/v1/silences",
    { matchers: { host: "a" }, endsAt: future(), createdBy: "me" },
    "matchers.host",
  ],
  ["silence", "DELETE", `/api/v1/silences/${LONG}`, undefined, "id"],
  ["silence", "DELETE", "/api/v1/silences/s1?force=1", undefined, "force"],
  ["target", "GET", "/api/v1/targets/bad%20name", undefined, "name"],
  ["target", "GET", "/api/v1/targets/alice?x=1", undefined, "x"],
  ["target", "POST", "/api/v1/targets", {}, "name"],
  ["target", "POST", "/api/v1/targets", { name: "has space", url: "ws://h:1" }, "name"],
  ["target", "POST", "/api/v1/targets", { name: "n" }, "url"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "http://h:1" }, "url"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://user:pw@h:1" }, "url"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", team: 7 }, "team"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", labels: { site: 1 } }, "labels.site"],
  [
    "target",
    "POST",
    "/api/v1/targets",
    { name: "n", url: "ws://h:1", allowInsecure: "yes" },
    "allowInsecure",
  ],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", token: "" }, "token"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", token: "a b" }, "token"],
  [
    "target",
    "POST",
    "/api/v1/targets",
    { name: "n", url: "ws://h:1", tokenFile: "/etc/passwd" },
    "tokenFile",
  ],
  ["target test", "POST", "/api/v1/targets/test", {}, "url"],
  ["target test", "POST", "/api/v1/targets/test", { url: "ftp://h:1" }, "url"],
  ["target test", "POST", "/api/v1/targets/test", { url: "ws://h:1", name: "a b" }, "name"],
  ["target test", "POST", "/api/v1/targets/test?dryRun=1", { url: "ws://h:1" }, "dryRun"],
  ["target", "PUT", "/api/v1/targets/bob", {}, "url"],
  ["target", "PUT", "/api/v1/targets/bob", { url: "ws://h:1", name: "other" }, "name"],
  ["target", "PUT", "/api/v1/targets/b%09b", { url: "ws://h:1" }, "name"],
  ["target", "DELETE", "/api/v1/targets/-bad*", undefined, "name"],
  ["targets", "GET", "/api/v1/targets?paused=maybe", undefined, "paused"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", tokenEnv: "A-B" }, "tokenEnv"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", tokenEnv: "HOME" }, "tokenEnv"],
  ["target", "POST", "/api/v1/targets", { name: "n", url: "ws://h:1", tokenFile: 7 }, "tokenFile"],
  [
    "target",
    "POST",
    "/api/v1/targets",
    { name: "n", url: "ws://h:1", token: "t", tokenFile: "f" },
    "tokenFile",
  ],
  ["target pause", "POST", "/api/v1/targets/a%20b/pause", undefined, "name"],
  ["target pause", "POST", "/api/v1/targets/alice/pause?now=1", undefined, "now"],
  ["target pause", "POST", "/api/v1/targets/alice/pause", { paused: true }, "paused"],
  ["target resume", "POST", "/api/v1/targets/a%20b/resume", undefined, "name"],
  ["target resume", "POST", "/api/v1/targets/alice/resume", { x: 1 }, "x"],
  ["price overrides", "GET", "/api/v1/pricing/overrides?model=x", undefined, "model"],
  ["price override", "POST", "/api/v1/pricing/overrides", {}, "model"],
  [
    "price override",
    "POST",
    "/api/v1/pricing/overrides",
    {
      model: "m",
      effectiveFrom: "2026-02-30",
      inputUsdPerMTok: 1,
      cachedInputUsdPerMTok: 1,
      outputUsdPerMTok: 1,
    },
    "effectiveFrom",
  ],
  [
    "price override",
    "POST",
    "/api/v1/pricing/overrides",
    {
      model: "m",
      effectiveFrom: "2026-02-01",
      inputUsdPerMTok: -1,
      cachedInputUsdPerMTok: 1,
      outputUsdPerMTok: 1,
    },
    "inputUsdPerMTok",
  ],
  ["price override", "DELETE", "/api/v1/pricing/overrides/abc", undefined, "id"],
  ["price override", "DELETE", "/api/v1/pricing/overrides/1?force=1", undefined, "force"],
  ["login", "POST", "/api/v1/auth/login", {}, "token"],
  ["login", "POST", "/api/v1/auth/login", { token: ["a"] }, "token"],
  ["login", "POST", "/api/v1/auth/login", { token: "x", remember: true }, "remember"],
  ["me", "GET", "/api/v1/auth/me?verbose=1", undefined, "verbose"],
  ["alert groups", "GET", "/api/v1/alerts/groups?state=closed", undefined, "state"],
  ["receivers", "GET", "/api/v1/alerts/receivers?name=x", undefined, "name"],
  ["receiver test", "POST", "/api/v1/alerts/receivers/hook/test?dryRun=1", undefined, "dryRun"],
  ["logout", "POST", "/api/v1/auth/logout?all=1", undefined, "all"],
  ["keys", "GET", "/api/v1/keys?name=ci", undefined, "name"],
  ["key", "POST", "/api/v1/keys", { role: "viewer" }, "name"],
  ["key", "POST", "/api/v1/keys", { name: "has/slash", role: "viewer" }, "name"],
  ["key", "POST", "/api/v1/keys", { name: "ci", role: "owner" }, "role"],
  ["key", "POST", "/api/v1/keys", { name: "ci", role: "viewer", expiresAt: "soon" }, "expiresAt"],
  ["key", "POST", "/api/v1/keys", { name: "ci", role: "viewer", expiresAt: 1000 }, "expiresAt"],
  ["key", "POST", "/api/v1/keys", { name: "ci", role: "viewer", secret: "mine" }, "secret"],
  ["key", "POST", "/api/v1/keys?dryRun=1", { name: "ci", role: "viewer" }, "dryRun"],
  ["key", "DELETE", "/api/v1/keys/not-a-uuid", undefined, "id"],
  ["key", "DELETE", "/api/v1/keys/00000000-0000-4000-8000-000000000000?force=1", undefined, "force"],
  ["audit", "GET", "/api/v1/audit?from=yesterday", undefined, "from"],
  ["audit", "GET", "/api/v1/audit?from=2026-11-02&to=2026-11-01", undefined, "from"],
  ["audit", "GET", "/api/v1/audit?to=soon", undefined, "to"],
  ["audit", "GET", "/api/v1/audit?limit=0", undefined, "limit"],
  ["audit", "GET", "/api/v1/audit?action=", undefined, "action"],
  ["audit", "GET", "/api/v1/audit?actor=%20", undefined, "actor"],
  ["audit", "GET", "/api/v1/audit?format=xml", undefined, "format"],
  ["audit", "GET", "/api/v1/audit?who=me", undefined, "who"],
  ["sign-in methods", "GET", "/api/v1/auth/methods?verbose=1", undefined, "verbose"],
  ["oidc login", "GET", "/api/v1/auth/oidc/login?next=/x", undefined, "next"],
  // The callback ignores unknown parameters (providers add their own) but not a repeated one.
  ["oidc callback", "GET", "/api/v1/auth/oidc/callback?state=a&state=b", undefined, "state"],
  ["oidc callback", "GET", "/api/v1/auth/oidc/callback?code=a&code=b", undefined, "code"],
  ["openapi", "GET", "/api/v1/openapi.json?format=yaml", undefined, "format"],
  ["reference page", "GET", "/api/docs?theme=dark", undefined, "theme"],
  ["reference script", "GET", "/api/docs/reference.js?v=1", undefined, "v"],
  ["reference styles", "GET", "/api/docs/reference.css?v=1", undefined, "v"],
];

describe("bad parameters", () => {
  it.each(CASES)(
    "does answer %s %s %s with a 400 naming the parameter",
    async (_, method, url, body, param) => {
      const res = await fleet.app.inject({
        method,
        url,
        payload: body as object | undefined,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
      expect(res.json().error.code).toMatch(/^BAD_PARAMETER$/);
      expect(res.json().error.message).toContain(param);
    },
  );

  // The words of a 400, now the route schemas' (params.ts), as the handlers wrote them before.
  it.each([
    ["/api/v1/threads?limit=ten", "limit: must be an integer"],
    ["/api/v1/threads?target=a&target=b", "target: must be given once"],
    ["/api/v1/alerts?limit=5001", "limit: must be between 1 and 5000"],
    ["/api/v1/limits/history", "target: is required"],
    ["/api/v1/usage?groupBy=day,hour", "groupBy: use day or hour, not both"],
    ["/api/v1/usage?from=2026-11-02&to=2026-11-01", "from: must be before 'to'"],
    ["/api/v1/usage?from=2025-01-01&to=2026-11-01", "from: the range may span at most 400 days"],
    ["/api/v1/budgets?id=nope", 'id: no budget with id "nope" (configured: none)'],
    ["/api/v1/targets?colour=red&format=xml", "colour: unknown parameter (known: format, paused)"],
    ["/api/v1/audit?actor=%20", "actor: must not be empty"],
    ["/api/v1/alerts/groups?state=closed", "state: must be one of open, all"],
  ])("does answer GET %s in the words %j", async (url, message) => {
    const res = await fleet.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect([res.statusCode, res.json().error?.message]).toEqual([400, message]);
  });

  it("does cover every API route the app serves", () => {
    const routes = new Set(
      routeTree(fleet.app.printRoutes({ commonPrefix: false }))
        .filter(([path]) => path.startsWith("/api/"))
        .flatMap(([path, methods]) => methods.filter((m) => m !== "HEAD").map((m) => `${m} ${path}`)),
    );
    const covered = new Set(CASES.map(([, method, url]) => `${method} ${url.split("?")[0]}`));
    const uncovered = [...routes].filter((route) => {
      if (route === "GET /api/v1/live") return false; // a WebSocket, no parameters
      const pattern = new RegExp(`^${route.replace(/:[^/]+/g, "[^/]+")}$`);
      return ![...covered].some((c) => pattern.test(c));
    });
    expect(routes.size).toBeGreaterThan(10);
    expect(uncovered).toEqual([]);
  });
});
