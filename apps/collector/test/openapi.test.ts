/**
 * The OpenAPI 3.1 document (issue 17): every route the app serves is described (and nothing
 * else), each documented query parameter is one the route accepts, and recorded answers of the
 * main routes — successes and errors, on a real Postgres with data written by the ingest path —
 * validate against the document's response schemas (ajv, JSON Schema 2020-12).
 */
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { ThreadSnapshot } from "@codex-fleet/db/repositories/ingest-types";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";
import { routeTree } from "./support/route-tree.ts";

interface Operation {
  summary?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: object }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
}

let testDb: TestDatabase;
let fleet: AuthApp;
let doc: Document;

const H = (hour: number, minute = 0) => Date.UTC(2026, 10, 21, hour, minute);
const RANGE = `from=${new Date(H(0)).toISOString()}&to=${new Date(H(23)).toISOString()}`;
const TOKENS = {
  inputTokens: 1200,
  cachedInputTokens: 200,
  outputTokens: 300,
  reasoningOutputTokens: 50,
  totalTokens: 1500,
};

function thread(id: string): ThreadSnapshot {
  return {
    id,
    targetId: "alice",
    model: "gpt-5.5",
    modelProvider: "openai",
    cwd: "/src/shop",
    repo: "shop",
    gitBranch: "main",
    gitOrigin: null,
    source: "cli",
    name: null,
    cliVersion: "0.169.0",
    status: "idle",
    activeFlags: [],
    statusSinceMs: H(9),
    lastEventAtMs: H(9, 30),
    currentTurnId: null,
    currentTurnStartedAtMs: null,
    lastTurnId: "u1",
    lastTurnStatus: "failed",
    lastErrorMessage: "failed",
    lastCodexErrorInfo: "usageLimitExceeded",
    contextTokens: 1500,
    modelContextWindow: 272_000,
    pendingRequests: [],
    createdAtMs: H(8),
    updatedAtMs: H(9, 30),
    parentThreadId: null,
    subAgentKind: null,
    subAgentDepth: null,
  };
}

const auth = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }]",
      "budgets: [{ id: pay, scope: team, subject: payments, period: month, unit: usd, amount: 100 }]",
    ].join("\n"),
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
  });
  await writeIngestBatch({
    pool: fleet.db.pool,
    threads: [thread("th-1")],
    turns: [
      {
        id: "u1",
        threadId: "th-1",
        targetId: "alice",
        model: "gpt-5.5",
        status: "failed",
        errorMessage: "failed",
        codexErrorInfo: "usageLimitExceeded",
        startedAtMs: H(9),
        completedAtMs: H(9, 5),
      },
    ],
    usage: [
      {
        threadId: "th-1",
        turnId: "u1",
        targetId: "alice",
        model: "gpt-5.5",
        repo: "shop",
        atMs: H(9, 4),
        total: TOKENS,
        last: TOKENS,
      },
    ],
    price: () => ({ costUsd: 0.01, unpricedTokens: 0, priceVersion: "test" }),
  });
  const res = await fleet.app.inject({
    method: "GET",
    url: "/api/v1/openapi.json",
    headers: auth(VIEWER_TOKEN),
  });
  expect(res.statusCode).toBe(200);
  doc = res.json();
  if (process.env.OPENAPI_DUMP) (await import("node:fs")).writeFileSync(process.env.OPENAPI_DUMP, res.body);
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

/** `/api/v1/threads/:id` → `/api/v1/threads/{id}`. */
const openApiPath = (route: string) => route.replace(/:([^/]+)/g, "{$1}");

describe("the OpenAPI document", () => {
  it("does declare OpenAPI 3.1 and needs a viewer", async () => {
    expect(doc.openapi).toBe("3.1.0");
    const anonymous = await fleet.app.inject({ method: "GET", url: "/api/v1/openapi.json" });
    expect(anonymous.statusCode).toBe(401);
  });

  it("does describe every route the app serves, and only those", () => {
    const served = routeTree(fleet.app.printRoutes({ commonPrefix: false })).flatMap(([path, methods]) =>
      methods.filter((m) => m !== "HEAD").map((m) => `${m} ${openApiPath(path)}`),
    );
    const described = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(served.length).toBeGreaterThan(40);
    expect([...described].sort()).toEqual([...new Set(served)].sort());
  });

  it("does give every operation a summary, its path parameters, its answers and the error shape", () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        expect(op.summary, where).toBeTruthy();
        const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        expect(
          (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name),
          where,
        ).toEqual(pathParams);
        const ok = Object.keys(op.responses).filter((s) => /^[123]/.test(s));
        expect(ok.length, where).toBeGreaterThan(0);
        const error = op.responses["400"]?.content?.["application/json"]?.schema as {
          properties?: { error?: { required?: string[] } };
        };
        expect(error?.properties?.error?.required, where).toEqual(["code", "message"]);
      }
    }
  });

  it("does describe the request body of every change that reads one", () => {
    const withBody = [
      "post /api/v1/targets",
      "put /api/v1/targets/{name}",
      "post /api/v1/targets/test",
      "post /api/v1/keys",
      "post /api/v1/silences",
      "post /api/v1/alerts/{id}/ack",
      "post /api/v1/pricing/overrides",
      "post /api/v1/auth/login",
    ];
    for (const key of withBody) {
      const [method = "", path = ""] = key.split(" ");
      const schema = doc.paths[path]?.[method]?.requestBody?.content["application/json"]?.schema as {
        properties?: object;
      };
      expect(Object.keys(schema?.properties ?? {}).length, key).toBeGreaterThan(0);
    }
  });

  it("does describe a query parameter as the client sends it, not as the route parses it", () => {
    const query = (path: string) =>
      Object.fromEntries(
        (doc.paths[path]?.get?.parameters ?? []).filter((q) => q.in === "query").map((q) => [q.name, q]),
      );
    expect(query("/api/v1/threads").limit).toMatchObject({
      required: false,
      schema: { type: "integer", minimum: 1, maximum: 5000 },
    });
    expect(query("/api/v1/threads").limit?.schema).not.toHaveProperty("maxLength");
    expect(query("/api/v1/threads").format?.schema).toEqual({
      type: "string",
      enum: ["json", "csv"],
      default: "json",
    });
    expect(query("/api/v1/usage").from?.schema).toEqual({ type: "string", maxLength: 100 });
    expect(query("/api/v1/usage").groupBy?.schema).toEqual({ type: "string", maxLength: 5000 });
    expect(query("/api/v1/limits/history").target).toMatchObject({
      required: true,
      schema: { type: "string", minLength: 1, maxLength: 200 },
    });
  });

  it("does list exactly the query parameters each route accepts", async () => {
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      const op = ops.get;
      if (!op || path === "/api/v1/live") continue;
      const url = path.replace(/\{[^}]+\}/g, "x");
      const documented = (op.parameters ?? []).filter((q) => q.in === "query").map((q) => q.name);
      // An unknown parameter is refused with the list the route's query schema knows (params.ts `query`).
      const res = await fleet.app.inject({ method: "GET", url: `${url}?zzz=1`, headers: auth() });
      const message: string = res.statusCode === 400 ? res.json().error.message : "";
      const known = /unknown parameter \(known: (.*)\)$/.exec(message)?.[1];
      if (known === undefined) {
        // Routes that take none and check none: health checks, the OIDC callback (providers add their own).
        expect(["/healthz", "/readyz", "/metrics", "/api/v1/auth/oidc/callback"], path).toContain(path);
        continue;
      }
      const accepted = known === "" ? [] : known.split(", ");
      expect([...documented].sort(), path).toEqual([...accepted].sort());
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });
});

/** [documented path, method, request]: answers recorded from the running app. */
const RECORDED: [string, string, InjectOptions][] = [
  ["/healthz", "get", { url: "/healthz" }],
  ["/readyz", "get", { url: "/readyz" }],
  ["/api/v1/targets", "get", { url: "/api/v1/targets" }],
  [
    "/api/v1/targets",
    "post",
    {
      url: "/api/v1/targets",
      payload: { name: "bob", url: "ws://127.0.0.1:2", team: "search", labels: { site: "berlin" } },
    },
  ],
  ["/api/v1/targets/{name}", "get", { url: "/api/v1/targets/bob" }],
  ["/api/v1/targets/{name}", "put", { url: "/api/v1/targets/bob", payload: { url: "ws://127.0.0.1:3" } }],
  ["/api/v1/targets/{name}", "put", { url: "/api/v1/targets/alice", payload: { url: "ws://127.0.0.1:3" } }],
  ["/api/v1/targets/test", "post", { url: "/api/v1/targets/test", payload: { url: "ws://127.0.0.1:1" } }],
  ["/api/v1/targets/{name}", "get", { url: "/api/v1/targets/nobody" }],
  ["/api/v1/threads", "get", { url: "/api/v1/threads" }],
  ["/api/v1/threads", "get", { url: "/api/v1/threads?limit=0" }],
  ["/api/v1/threads/{id}", "get", { url: "/api/v1/threads/th-1" }],
  ["/api/v1/threads/{id}", "get", { url: "/api/v1/threads/th-none" }],
  ["/api/v1/usage", "get", { url: `/api/v1/usage?${RANGE}&groupBy=target,model,day` }],
  ["/api/v1/usage", "get", { url: "/api/v1/usage?groupBy=week" }],
  ["/api/v1/usage/failures", "get", { url: `/api/v1/usage/failures?${RANGE}&groupBy=target` }],
  ["/api/v1/activity", "get", { url: `/api/v1/activity?${RANGE}&groupBy=target` }],
  ["/api/v1/limits", "get", { url: "/api/v1/limits" }],
  ["/api/v1/limits/history", "get", { url: "/api/v1/limits/history?target=alice" }],
  ["/api/v1/budgets", "get", { url: "/api/v1/budgets" }],
  ["/api/v1/pricing", "get", { url: "/api/v1/pricing" }],
  [
    "/api/v1/pricing/overrides",
    "post",
    {
      url: "/api/v1/pricing/overrides",
      payload: {
        model: "gpt-5.5",
        effectiveFrom: "2026-11-01",
        inputUsdPerMTok: 5,
        cachedInputUsdPerMTok: 0.5,
        outputUsdPerMTok: 30,
      },
    },
  ],
  ["/api/v1/pricing/overrides", "get", { url: "/api/v1/pricing/overrides" }],
  ["/api/v1/alerts", "get", { url: "/api/v1/alerts" }],
  ["/api/v1/alerts/rules", "get", { url: "/api/v1/alerts/rules" }],
  ["/api/v1/alerts/groups", "get", { url: "/api/v1/alerts/groups?state=all" }],
  ["/api/v1/alerts/receivers", "get", { url: "/api/v1/alerts/receivers" }],
  ["/api/v1/alerts/{id}/ack", "post", { url: "/api/v1/alerts/nope/ack", payload: {} }],
  [
    "/api/v1/silences",
    "post",
    {
      url: "/api/v1/silences",
      payload: {
        matchers: { target: "alice" },
        endsAt: Date.now() + 3_600_000,
        createdBy: "me",
        comment: "deploy",
      },
    },
  ],
  ["/api/v1/silences", "get", { url: "/api/v1/silences?state=all" }],
  ["/api/v1/keys", "post", { url: "/api/v1/keys", payload: { name: "ci", role: "viewer" } }],
  ["/api/v1/keys", "get", { url: "/api/v1/keys" }],
  ["/api/v1/keys", "get", { url: "/api/v1/keys", headers: auth(VIEWER_TOKEN) }],
  ["/api/v1/audit", "get", { url: "/api/v1/audit" }],
  ["/api/v1/auth/me", "get", { url: "/api/v1/auth/me" }],
  ["/api/v1/auth/me", "get", { url: "/api/v1/auth/me", headers: {} }],
  ["/api/v1/auth/methods", "get", { url: "/api/v1/auth/methods" }],
  ["/api/v1/cluster", "get", { url: "/api/v1/cluster" }],
];

describe("recorded answers", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);

  /** The document's schema for one answer, resolved inside the document (its $refs included). */
  function responseValidator(path: string, method: string, status: number) {
    if (!ajv.getSchema("openapi")) ajv.addSchema({ ...doc, $id: "openapi" });
    const op = doc.paths[path]?.[method];
    expect(op, `${method} ${path} is documented`).toBeDefined();
    expect(op?.responses[String(status)], `${method} ${path} documents ${status}`).toBeDefined();
    const pointer = [
      "paths",
      path,
      method,
      "responses",
      String(status),
      "content",
      "application/json",
      "schema",
    ]
      .map((s) => s.replaceAll("~", "~0").replaceAll("/", "~1"))
      .join("/");
    const validate = ajv.getSchema(`openapi#/${pointer}`);
    if (!validate) throw new Error(`no JSON schema for ${status} of ${method} ${path}`);
    return validate;
  }

  it("does validate every recorded answer against its documented schema", async () => {
    const seen = new Set<number>();
    for (const [path, method, request] of RECORDED) {
      const res = await fleet.app.inject({
        method: method.toUpperCase() as InjectOptions["method"],
        headers: auth(),
        ...request,
      });
      const where = `${method} ${request.url} → ${res.statusCode}`;
      expect(res.statusCode, where).toBeLessThan(500);
      seen.add(res.statusCode);
      const validate = responseValidator(path, method, res.statusCode);
      const ok = validate(res.json());
      expect(ok ? [] : validate.errors, where).toEqual([]);
    }
    // Successes, creations and the errors (bad parameter, unauthenticated, forbidden, not found, conflict).
    expect([...seen].sort()).toEqual([200, 201, 400, 401, 403, 404, 409]);
  });

  it("does reject an answer that breaks the schema (the check can fail)", () => {
    const validate = responseValidator("/api/v1/usage", "get", 200);
    expect(validate({ from: "x", rows: "none" })).toBe(false);
    const error = responseValidator("/api/v1/usage", "get", 400);
    expect(error({ error: { code: "X" } })).toBe(false);
  });
});

describe("the reference page", () => {
  it("does serve a page whose script and styles are its own files under the CSP", async () => {
    const page = await fleet.app.inject({ url: "/api/docs", headers: auth(VIEWER_TOKEN) });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="/api/docs/reference.js"');
    expect(page.body).not.toMatch(/<script>|<style>|\son\w+=/);
    for (const [file, type] of [
      ["reference.js", /^text\/javascript/],
      ["reference.css", /^text\/css/],
    ] as const) {
      const res = await fleet.app.inject({ url: `/api/docs/${file}`, headers: auth(VIEWER_TOKEN) });
      expect([res.statusCode, res.headers["content-type"]]).toEqual([200, expect.stringMatching(type)]);
    }
  });
});
