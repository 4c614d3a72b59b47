/**
 * GET /api/v1/usage/failures over HTTP (issue 11): failed turns by error kind, written by the
 * product's ingest path into a real Postgres; the answer's shape, its figures, CSV, and a clear 400
 * for every bad parameter.
 */
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { TurnPatchRow } from "@codex-fleet/db/repositories/ingest-types";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { FailuresResponseSchema, UsageResponseSchema } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let fleet: AuthApp;

const H = (hour: number, minute = 0) => Date.UTC(2026, 10, 21, hour, minute);
const RANGE = `from=${new Date(H(0)).toISOString()}&to=${new Date(H(23)).toISOString()}`;

/** [turn, target, status, codexErrorInfo, completed at]. */
const TURNS: [string, string, string, string | null, number][] = [
  ["u1", "alice", "failed", "usageLimitExceeded", H(9, 5)],
  ["u2", "alice", "failed", "usageLimitExceeded", H(9, 40)],
  ["u3", "alice", "failed", "contextWindowExceeded", H(10, 1)],
  ["u4", "alice", "interrupted", null, H(10, 2)],
  ["u5", "alice", "completed", null, H(10, 3)],
  ["u6", "bob", "failed", "rateLimitExceeded", H(10, 30)],
  ["u7", "bob", "failed", null, H(11, 0)],
  ["u8", "bob", "failed", "=cmd|' /C calc'!A0", H(11, 10)],
];

function get(url: string, token = ADMIN_TOKEN) {
  return fleet.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }, { name: bob, team: search, url: 'ws://127.0.0.1:2' }]",
    ].join("\n"),
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
  });
  const turns: TurnPatchRow[] = TURNS.map(([id, target, status, kind, at]) => ({
    id,
    threadId: `th-${target}`,
    targetId: target,
    model: target === "alice" ? "gpt-5.5" : "gpt-5.4",
    status,
    errorMessage: status === "failed" ? "failed" : null,
    codexErrorInfo: kind,
    startedAtMs: at - 1000,
    completedAtMs: at,
  }));
  const price = () => ({ costUsd: null, unpricedTokens: 0, priceVersion: "x" });
  await writeIngestBatch({ pool: fleet.db.pool, threads: [], turns, usage: [], price });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("GET /api/v1/usage with sort and limit", () => {
  it("does keep the rows of most tokens first, say there were more, and keep the totals whole", async () => {
    const all = UsageResponseSchema.parse((await get(`/api/v1/usage?${RANGE}&groupBy=target,model`)).json());
    expect(all.truncated).toBe(false);
    expect(all.rows.length).toBeGreaterThan(1);
    const ranked = [...all.rows].sort(
      (a, b) =>
        b.totalTokens - a.totalTokens || `${a.target}/${a.model}`.localeCompare(`${b.target}/${b.model}`),
    );
    const top = UsageResponseSchema.parse(
      (await get(`/api/v1/usage?${RANGE}&groupBy=target,model&sort=tokens&limit=1`)).json(),
    );
    expect([top.rows, top.truncated, top.totals]).toEqual([ranked.slice(0, 1), true, all.totals]);
  });

  it("does say in a header that a CSV was cut by the limit, and not when it was whole", async () => {
    const cut = await get(`/api/v1/usage?${RANGE}&groupBy=target,model&sort=cost&limit=1&format=csv`);
    expect([
      cut.statusCode,
      cut.headers["x-codex-fleet-truncated"],
      cut.body.trim().split("\n"),
    ]).toMatchObject([200, "true", { length: 2 }]);
    const whole = await get(`/api/v1/usage?${RANGE}&groupBy=target,model&format=csv`);
    expect(whole.headers["x-codex-fleet-truncated"]).toBeUndefined();
  });
});

describe("GET /api/v1/usage with top", () => {
  it("does keep the top series per hour and sum the rest into one `other` row per hour", async () => {
    // No tokens here: alice and bob tie, alice first by key; bob's hours become `other` rows.
    const res = await get(`/api/v1/usage?${RANGE}&groupBy=hour,target&sort=tokens&top=1`);
    const body = UsageResponseSchema.strict().parse(res.json());
    expect(body.rows.map((r) => [r.hour, r.target, r.other, r.turns])).toEqual([
      ["2026-11-21T09:00:00Z", "alice", undefined, 2],
      ["2026-11-21T10:00:00Z", "alice", undefined, 3],
      ["2026-11-21T10:00:00Z", undefined, true, 1],
      ["2026-11-21T11:00:00Z", undefined, true, 2],
    ]);
    expect(body.totals.turns).toBe(8);
    const csv = await get(`/api/v1/usage?${RANGE}&groupBy=hour,target&sort=tokens&top=1&format=csv`);
    const [header, , , folded] = csv.body.trim().split("\n");
    expect(header?.split(",").slice(0, 4)).toEqual(["hour", "target", "other", "turns"]);
    expect(folded?.split(",").slice(0, 4)).toEqual(["2026-11-21T10:00:00Z", "", "true", "1"]);
  });

  it.each([
    ["groupBy=day,target&top=5", "needs sort=cost or sort=tokens"],
    ["groupBy=day&sort=cost&top=5", "needs a group key other than day or hour"],
    ["groupBy=day,target&sort=cost&top=0", "top"],
    ["groupBy=day,target&sort=cost&top=101", "top"],
  ])("does refuse %s with a 400 naming top", async (params, message) => {
    const res = await get(`/api/v1/usage?${RANGE}&${params}`);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("top");
    expect(res.body).toContain(message);
  });
});

describe("GET /api/v1/usage/failures", () => {
  it("does count failed turns by developer, model and kind, never interrupted or completed ones", async () => {
    const res = await get(`/api/v1/usage/failures?${RANGE}&groupBy=target,model`);
    expect(res.statusCode).toBe(200);
    const body = FailuresResponseSchema.strict().parse(res.json());
    expect(body.groupBy).toEqual(["target", "model"]);
    expect(body.rows).toEqual([
      { target: "alice", model: "gpt-5.5", kind: "contextWindowExceeded", failedTurns: 1 },
      { target: "alice", model: "gpt-5.5", kind: "usageLimitExceeded", failedTurns: 2 },
      { target: "bob", model: "gpt-5.4", kind: "=cmd|' /C calc'!A0", failedTurns: 1 },
      { target: "bob", model: "gpt-5.4", kind: "rateLimitExceeded", failedTurns: 1 },
      { target: "bob", model: "gpt-5.4", kind: null, failedTurns: 1 },
    ]);
    expect(body.kinds[0]).toEqual({ kind: "usageLimitExceeded", failedTurns: 2 });
    expect(body.kinds).toHaveLength(5);
    expect(body.failedTurns).toBe(6);
  });

  it("does agree with /usage's failedTurns for the same range and filters", async () => {
    for (const filter of ["", "&team=payments", "&target=bob", "&model=gpt-5.5"]) {
      const failures = FailuresResponseSchema.parse(
        (await get(`/api/v1/usage/failures?${RANGE}${filter}`)).json(),
      );
      const usage = UsageResponseSchema.parse((await get(`/api/v1/usage?${RANGE}${filter}`)).json());
      expect([filter, failures.failedTurns]).toEqual([filter, usage.totals.failedTurns]);
    }
  });

  it("does bucket by hour and filter by kind", async () => {
    const res = await get(
      `/api/v1/usage/failures?${RANGE}&groupBy=hour&kind=usageLimitExceeded,rateLimitExceeded`,
    );
    const body = FailuresResponseSchema.parse(res.json());
    expect(body.rows).toEqual([
      { hour: "2026-11-21T09:00:00Z", kind: "usageLimitExceeded", failedTurns: 2 },
      { hour: "2026-11-21T10:00:00Z", kind: "rateLimitExceeded", failedTurns: 1 },
    ]);
    expect(body.failedTurns).toBe(3);
  });

  it("does answer a viewer", async () => {
    expect((await get(`/api/v1/usage/failures?${RANGE}`, VIEWER_TOKEN)).statusCode).toBe(200);
  });

  it("does export CSV with the group keys, kind and count, formulas neutralised", async () => {
    const res = await get(`/api/v1/usage/failures?${RANGE}&groupBy=day,target&format=csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    expect(res.headers["content-disposition"]).toContain("codex-fleet-failures.csv");
    const lines = res.body.trim().split(/\r?\n/);
    expect(lines[0]).toBe("day,target,kind,failedTurns");
    expect(lines).toContain("2026-11-21T00:00:00Z,alice,usageLimitExceeded,2");
    expect(lines).toContain("2026-11-21T00:00:00Z,bob,,1");
    expect(lines.some((l) => l.includes("=cmd") && !l.includes("'=cmd"))).toBe(false);
    expect(lines).toHaveLength(6);
  });

  it.each([
    ["from=yesterday", "from"],
    ["to=soon", "to"],
    ["from=2026-11-02&to=2026-11-01", "from"],
    ["from=2025-01-01&to=2026-11-01", "from"],
    ["groupBy=kind", "groupBy"],
    ["groupBy=day,hour", "groupBy"],
    ["kind=", "kind"],
    ["kind=a&kind=b", "kind"],
    [`kind=${Array.from({ length: 201 }, (_, i) => `k${i}`).join(",")}`, "kind"],
    ["format=xlsx", "format"],
    ["developer=alice", "developer"],
  ])("does answer ?%s with a 400 naming %s", async (query, param) => {
    const res = await get(`/api/v1/usage/failures?${query}`);
    expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
    expect(res.json().error.message).toContain(param);
  });
});
