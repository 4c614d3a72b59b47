/**
 * GET /api/v1/activity over HTTP (issue 15): rollup rows and failed turns seeded with SQL into a
 * real Postgres (the write path is tested on its own); the answer's shape, its figures, CSV, and a
 * clear 400 for every bad parameter.
 */
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import {
  ACTIVITY_COUNTER_COLUMNS,
  ActivityResponseSchema,
  ANSWER_BOUNDS_MS,
  histogramQuantile,
} from "@codex-fleet/protocol/activity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let fleet: AuthApp;

const H = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const RANGE = `from=${new Date(H(21, 0)).toISOString()}&to=${new Date(H(23, 0)).toISOString()}`;
const MIN = 60_000;

/** [hour, target, team, model, working, approval wait, input wait, approval waits, answered, ans_h1, ans_h4, turns failed]. */
const HOURLY: [
  number,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
][] = [
  [H(21, 9), "alice", "payments", "gpt-5.5", 50 * MIN, 10 * MIN, 0, 2, 2, 1, 1, 1],
  [H(21, 10), "alice", "payments", "gpt-5.5", 30 * MIN, 0, 5 * MIN, 0, 1, 1, 0, 2],
  [H(21, 10), "bob", "search", "gpt-5.4", 60 * MIN, 0, 0, 0, 0, 0, 0, 0],
  [H(22, 14), "bob", "search", "gpt-5.4", 20 * MIN, 40 * MIN, 0, 3, 1, 0, 1, 1],
];

/** [hour, scope, key, peak]. */
const PEAKS: [number, string, string, number][] = [
  [H(21, 9), "fleet", "", 3],
  [H(21, 10), "fleet", "", 5],
  [H(22, 14), "fleet", "", 2],
  [H(21, 10), "team", "payments", 4],
  [H(21, 10), "team", "search", 1],
  [H(22, 14), "team", "search", 2],
];

/** [turn, target, codexErrorInfo, completed at]: the failed turns whose kinds the answer lists. */
const FAILED: [string, string, string | null, number][] = [
  ["u1", "alice", "usageLimitExceeded", H(21, 9, 5)],
  ["u2", "alice", "usageLimitExceeded", H(21, 10, 1)],
  ["u3", "alice", null, H(21, 10, 2)],
  ["u4", "bob", "=cmd|' /C calc'!A0", H(22, 14, 30)],
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
      // Unreachable: the figures are only what is seeded below.
      "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }, { name: bob, team: search, url: 'ws://127.0.0.1:2' }]",
    ].join("\n"),
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
  });
  const { pool } = fleet.db;
  const at = (i: number) => `to_timestamp($${i} / 1000.0) AT TIME ZONE 'UTC'`;
  for (const [
    hour,
    target,
    team,
    model,
    working,
    approval,
    input,
    waits,
    answered,
    a1,
    a4,
    failed,
  ] of HOURLY) {
    await pool.query(
      `INSERT INTO activity_hourly (hour, target_id, team, model, repo, working_ms, approval_wait_ms,
         input_wait_ms, approval_waits, answered_waits, ans_h1, ans_h4, turns_failed, turns_started,
         turns_completed, timed_turns, dur_h2)
       VALUES (${at(1)}, $2, $3, $4, 'github.com/acme/api', $5, $6, $7, $8, $9, $10, $11, $12, 4, 3, 3, 3)`,
      [hour, target, team, model, working, approval, input, waits, answered, a1, a4, failed],
    );
  }
  for (const [hour, scope, key, peak] of PEAKS) {
    await pool.query(`INSERT INTO activity_peak (hour, scope, key, peak) VALUES (${at(1)}, $2, $3, $4)`, [
      hour,
      scope,
      key,
      peak,
    ]);
  }
  for (const target of ["alice", "bob"]) {
    await pool.query("INSERT INTO thread (id, target_id) VALUES ($1, $2)", [`th-${target}`, target]);
  }
  for (const [id, target, kind, completed] of FAILED) {
    await pool.query(
      `INSERT INTO turn (id, thread_id, target_id, model, status, error_message, codex_error_info,
         started_at, completed_at, end_counted)
       VALUES ($1, $2, $3, 'gpt-5.5', 'failed', 'failed', $4, ${at(5)}, ${at(6)}, true)`,
      [id, `th-${target}`, target, kind, completed - 1000, completed],
    );
  }
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("GET /api/v1/activity", () => {
  it("does answer rows per day and team, with their figures, peaks and the failure kinds", async () => {
    const res = await get(`/api/v1/activity?${RANGE}&groupBy=day,team`);
    expect(res.statusCode).toBe(200);
    const body = ActivityResponseSchema.strict().parse(res.json());
    expect(body).toMatchObject({ from: "2026-11-21T00:00:00.000Z", to: "2026-11-23T00:00:00.000Z" });
    expect(body.groupBy).toEqual(["day", "team"]);
    expect(body.rows.map((r) => [r.day, r.team])).toEqual([
      ["2026-11-21T00:00:00Z", "payments"],
      ["2026-11-21T00:00:00Z", "search"],
      ["2026-11-22T00:00:00Z", "search"],
    ]);
    const [payments] = body.rows;
    expect(payments).toMatchObject({
      workingMs: 80 * MIN,
      waitingOnApprovalMs: 10 * MIN,
      waitingOnInputMs: 5 * MIN,
      approvalWaits: 2,
      answeredWaits: 3,
      turnsStarted: 8,
      turnsFailed: 3,
      activeThreadsPeak: 4,
      // Three answers: two in bucket 1 (10–30 s), one in bucket 4 (2–5 min).
      timeToAnswerP50Ms: histogramQuantile(ANSWER_BOUNDS_MS, [0, 2, 0, 0, 1, 0, 0, 0, 0, 0], 0.5),
      turnDurationP50Ms: 22_500,
    });
    // 95 minutes active over one day.
    expect(payments?.activeThreadsAvg).toBeCloseTo(95 / (24 * 60), 12);
    expect(body.rows[2]?.activeThreadsPeak).toBe(2);
    expect(body.totals).toMatchObject({ workingMs: 160 * MIN, turnsFailed: 4, activeThreadsPeak: 5 });
    expect(body.totals.activeThreadsAvg).toBeCloseTo(215 / (48 * 60), 12);
    expect(body.failureKinds).toEqual([
      { kind: "usageLimitExceeded", failedTurns: 2 },
      { kind: null, failedTurns: 1 },
      { kind: "=cmd|' /C calc'!A0", failedTurns: 1 },
    ]);
  });

  it("does apply filters to the rows, the peak and the failure kinds alike", async () => {
    const body = ActivityResponseSchema.parse((await get(`/api/v1/activity?${RANGE}&team=search`)).json());
    expect(body.rows).toEqual([]);
    expect(body.totals).toMatchObject({ workingMs: 80 * MIN, approvalWaits: 3, activeThreadsPeak: 2 });
    expect(body.failureKinds).toEqual([{ kind: "=cmd|' /C calc'!A0", failedTurns: 1 }]);
    const byTarget = ActivityResponseSchema.parse(
      (await get(`/api/v1/activity?${RANGE}&target=alice&groupBy=hour`)).json(),
    );
    expect(byTarget.rows.map((r) => r.hour)).toEqual(["2026-11-21T09:00:00Z", "2026-11-21T10:00:00Z"]);
    // No samples per target in the fixture: 0, not null (the scope is kept, nothing was sampled).
    expect(byTarget.totals.activeThreadsPeak).toBe(0);
    expect(byTarget.failureKinds).toEqual([
      { kind: "usageLimitExceeded", failedTurns: 2 },
      { kind: null, failedTurns: 1 },
    ]);
  });

  it("does answer a null peak for a grouping the samples do not keep", async () => {
    const body = ActivityResponseSchema.parse(
      (await get(`/api/v1/activity?${RANGE}&groupBy=team,model`)).json(),
    );
    expect(body.rows.map((r) => r.activeThreadsPeak)).toEqual([null, null]);
    expect(body.totals.activeThreadsPeak).toBe(5);
  });

  it("does answer a viewer", async () => {
    expect((await get(`/api/v1/activity?${RANGE}`, VIEWER_TOKEN)).statusCode).toBe(200);
  });

  it("does refuse a request without a token", async () => {
    const res = await fleet.app.inject({ method: "GET", url: `/api/v1/activity?${RANGE}` });
    expect(res.statusCode).toBe(401);
  });

  it("does export CSV with the group keys then every counter", async () => {
    const res = await get(`/api/v1/activity?${RANGE}&groupBy=day,target,model&format=csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    expect(res.headers["content-disposition"]).toContain("codex-fleet-activity.csv");
    const lines = res.body.trim().split(/\r?\n/);
    expect(lines[0]).toBe(["day", "target", "model", ...ACTIVITY_COUNTER_COLUMNS].join(","));
    expect(ACTIVITY_COUNTER_COLUMNS).toContain("activeThreadsPeak");
    expect(lines).toHaveLength(4);
    const bob = lines.find((l) => l.startsWith("2026-11-22T00:00:00Z,bob,gpt-5.4,"))?.split(",");
    const col = (name: string) => bob?.[3 + ACTIVITY_COUNTER_COLUMNS.indexOf(name as never)];
    expect(col("workingMs")).toBe(String(20 * MIN));
    expect(col("approvalWaits")).toBe("3");
    // Two dimensions (target and model): no sampled peak, an empty cell.
    expect(col("activeThreadsPeak")).toBe("");
  });

  it.each([
    ["from=yesterday", "from"],
    ["to=soon", "to"],
    ["from=2026-11-02&to=2026-11-01", "from"],
    ["from=2025-01-01&to=2026-11-01", "from"],
    ["groupBy=rootThread", "groupBy"],
    ["groupBy=developer", "groupBy"],
    ["groupBy=day,hour", "groupBy"],
    ["team=", "team"],
    ["team=a&team=b", "team"],
    ["format=xlsx", "format"],
    ["kind=usageLimitExceeded", "kind"],
  ])("does answer ?%s with a 400 naming %s", async (query, param) => {
    const res = await get(`/api/v1/activity?${query}`);
    expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
    expect(res.json().error.message).toContain(param);
  });

  it("does say why rootThread is refused", async () => {
    const res = await get("/api/v1/activity?groupBy=team,rootThread");
    expect(res.json().error.message).toMatch(/cannot be grouped by rootThread.*use one of day, hour/);
  });
});
