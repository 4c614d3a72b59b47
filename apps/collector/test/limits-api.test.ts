/**
 * GET /api/v1/limits and /api/v1/limits/history over HTTP (issue 14), on a real Postgres seeded
 * through the plan-limits repository (the collector's own write path is tested on its own): rows,
 * their order and forecasts, the unavailable targets, filters, CSV, history thinning, and a clear
 * 400 for every bad parameter.
 */
import {
  type PlanSampleRow,
  savePlanLimit,
  savePlanLimitSource,
} from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import {
  LimitHistoryResponseSchema,
  type LimitRow,
  LimitsResponseSchema,
  type PlanLimitState,
} from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_HISTORY_POINTS, thinEvenly } from "../src/api/limits-routes.ts";
import { ADMIN_TOKEN, type AuthApp, SECRET_KEY, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let fleet: AuthApp;

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Whole seconds, as codex reports times. */
const T = Math.floor(Date.now() / 1000) * 1000;

function state(overrides: Partial<PlanLimitState> & Pick<PlanLimitState, "observedAtMs">): PlanLimitState {
  return {
    limitId: "codex",
    limitName: null,
    planType: "plus",
    primary: null,
    secondary: null,
    credits: null,
    rateLimitReachedType: null,
    rateLimitReachedAtMs: null,
    spendControlReached: null,
    ...overrides,
  };
}

const win = (usedPercent: number, windowDurationMins: number, resetsAtMs: number, observedAtMs = T) => ({
  usedPercent,
  windowDurationMins,
  resetsAtMs,
  observedAtMs,
});

/** alice's 5-hour window: 60 → 70 → 80 % over the last 40 minutes (30 points an hour). */
const ALICE_RESET = T + 3 * HOUR;
const ALICE_SAMPLES: PlanSampleRow[] = [
  // Older than the forecast's look-back: it must not bend the slope.
  { limitId: "codex", window: "primary", atMs: T - 2 * HOUR, usedPercent: 0, resetsAtMs: ALICE_RESET },
  { limitId: "codex", window: "primary", atMs: T - 40 * MIN, usedPercent: 60, resetsAtMs: ALICE_RESET },
  { limitId: "codex", window: "primary", atMs: T - 20 * MIN, usedPercent: 70, resetsAtMs: ALICE_RESET },
  { limitId: "codex", window: "primary", atMs: T, usedPercent: 80, resetsAtMs: ALICE_RESET },
];

/** A week of bob's weekly window, one sample a minute (more than the history's cap). */
const BOB_WEEK_RESET = T + 2 * 24 * HOUR;
const BOB_HISTORY: PlanSampleRow[] = Array.from({ length: 7 * 24 * 60 + 30 }, (_, i) => ({
  limitId: "codex",
  window: "secondary" as const,
  atMs: T - (7 * 24 * 60 + 29 - i) * MIN,
  usedPercent: Math.min(100, i / 100),
  resetsAtMs: BOB_WEEK_RESET,
}));

function get(url: string, token = ADMIN_TOKEN) {
  return fleet.app.inject({ method: "GET", url, headers: { authorization: `Bearer ${token}` } });
}

async function rows(query = ""): Promise<LimitRow[]> {
  const res = await get(`/api/v1/limits${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return LimitsResponseSchema.parse(res.json()).rows;
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      // Unreachable: the figures are only what is seeded below.
      "targets:",
      "  - { name: alice, team: payments, url: 'ws://127.0.0.1:1' }",
      "  - { name: bob, team: payments, url: 'ws://127.0.0.1:2' }",
      "  - { name: carol, team: search, url: 'ws://127.0.0.1:3' }",
      "  - { name: dave, team: search, url: 'ws://127.0.0.1:4' }",
    ].join("\n"),
    env: { CODEX_FLEET_SECRET_KEY: SECRET_KEY },
  });
  const { pool } = fleet.db;
  await savePlanLimit({
    pool,
    targetId: "alice",
    state: state({
      observedAtMs: T,
      primary: win(80, 300, ALICE_RESET),
      secondary: win(40, 10080, T + 3 * 24 * HOUR),
    }),
    samples: ALICE_SAMPLES,
  });
  await savePlanLimit({
    pool,
    targetId: "bob",
    state: state({
      observedAtMs: T - 5 * MIN,
      primary: win(100, 300, T + HOUR, T - 5 * MIN),
      secondary: win(72, 10080, BOB_WEEK_RESET, T - 5 * MIN),
      rateLimitReachedType: "workspace_member_credits_depleted",
      rateLimitReachedAtMs: T - 5 * MIN,
    }),
    samples: BOB_HISTORY,
  });
  // carol: no samples, so the forecast falls back to the window's average rate (10 % in its
  // first hour of five: 90 % more takes 9 h, it resets in 4 h: on track), plus a second limit.
  await savePlanLimit({
    pool,
    targetId: "carol",
    state: state({
      observedAtMs: T - MIN,
      planType: "pro",
      primary: win(10, 300, T + 4 * HOUR, T - MIN),
      credits: { hasCredits: true, unlimited: false, balance: "12.5", observedAtMs: T - MIN },
    }),
  });
  await savePlanLimit({
    pool,
    targetId: "carol",
    state: state({
      limitId: "codex_other",
      limitName: "=SUM(1)",
      observedAtMs: T - MIN,
      primary: win(20, 300, T + 4 * HOUR, T - MIN),
    }),
  });
  await savePlanLimitSource({ pool, targetId: "carol", status: "ok", reason: null, atMs: T });
  await savePlanLimitSource({
    pool,
    targetId: "dave",
    status: "unavailable",
    reason: "codex account authentication required to read rate limits",
    atMs: T,
  });
  await savePlanLimitSource({ pool, targetId: "bob", status: "error", reason: "timeout", atMs: T });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("GET /api/v1/limits", () => {
  it("does answer one row per target and limit, most urgent first, with forecasts from the samples", async () => {
    const res = await get("/api/v1/limits");
    expect(res.statusCode).toBe(200);
    const body = LimitsResponseSchema.parse(res.json());
    expect(body.rows.map((r) => `${r.target}/${r.limitId}`)).toEqual([
      "bob/codex", // exhausted
      "alice/codex", // exhausts before its reset
      "carol/codex_other", // on track at 20 %
      "carol/codex", // on track at 10 %
    ]);
    const [bob, aliceRow, , carol] = body.rows as [LimitRow, LimitRow, LimitRow, LimitRow];
    expect(bob.forecast.primary?.status).toBe("exhausted");
    expect(bob.rateLimitReachedType).toBe("workspace_member_credits_depleted");
    expect(bob.team).toBe("payments");

    // 20 points left at 30 points an hour: 40 minutes after the last report.
    const f = aliceRow.forecast.primary;
    expect(f?.status).toBe("exhausts");
    expect(f?.method).toBe("recentSlope");
    expect(f?.burnPctPerHour).toBeCloseTo(30, 6);
    expect(Math.abs(Date.parse(f?.exhaustsAt ?? "") - (T + 40 * MIN))).toBeLessThanOrEqual(1);
    expect(aliceRow.primary).toEqual({
      usedPercent: 80,
      windowDurationMins: 300,
      resetsAt: new Date(ALICE_RESET).toISOString(),
      observedAt: new Date(T).toISOString(),
    });
    expect(aliceRow.forecast.secondary?.method).toBe("windowAverage");

    expect(carol.forecast.primary).toMatchObject({ status: "onTrack", method: "windowAverage" });
    expect(carol.forecast.secondary).toBeNull();
    expect(carol.credits).toEqual({ hasCredits: true, unlimited: false, balance: "12.5" });
    expect(carol.planType).toBe("pro");

    // Only "unavailable" sources are listed (an error is not "cannot report").
    expect(body.unavailable).toEqual([
      { target: "dave", team: "search", reason: "codex account authentication required to read rate limits" },
    ]);
  });

  it("does filter by team and by target, the unavailable list alike", async () => {
    const search = LimitsResponseSchema.parse((await get("/api/v1/limits?team=search")).json());
    expect(search.rows.map((r) => r.target)).toEqual(["carol", "carol"]);
    expect(search.unavailable.map((u) => u.target)).toEqual(["dave"]);
    const payments = LimitsResponseSchema.parse((await get("/api/v1/limits?team=payments")).json());
    expect(payments.rows.map((r) => r.target)).toEqual(["bob", "alice"]);
    expect(payments.unavailable).toEqual([]);
    expect((await rows("?target=alice")).map((r) => r.target)).toEqual(["alice"]);
    expect(await rows("?team=nobody")).toEqual([]);
  });

  it("does answer a viewer", async () => {
    expect((await get("/api/v1/limits", VIEWER_TOKEN)).statusCode).toBe(200);
    expect((await get("/api/v1/limits/history?target=alice", VIEWER_TOKEN)).statusCode).toBe(200);
  });

  it("does refuse a request without a token", async () => {
    const res = await fleet.app.inject({ method: "GET", url: "/api/v1/limits" });
    expect(res.statusCode).toBe(401);
  });

  it("does export CSV with every window flattened, in the JSON's order, formulas neutralised", async () => {
    const res = await get("/api/v1/limits?format=csv");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/csv");
    expect(res.headers["content-disposition"]).toContain("codex-fleet-limits.csv");
    const lines = res.body.trim().split(/\r?\n/);
    const header = (lines[0] ?? "").split(",");
    expect(header.slice(0, 11)).toEqual([
      "target",
      "team",
      "limitId",
      "limitName",
      "planType",
      "primaryUsedPercent",
      "primaryWindowMins",
      "primaryResetsAt",
      "primaryForecast",
      "primaryExhaustsAt",
      "primaryBurnPctPerHour",
    ]);
    expect(header).toContain("secondaryForecast");
    expect(header).toContain("creditsBalance");
    expect(lines.slice(1).map((l) => l.split(",").slice(0, 3).join("/"))).toEqual([
      "bob/payments/codex",
      "alice/payments/codex",
      "carol/search/codex_other",
      "carol/search/codex",
    ]);
    const cell = (line: string, column: string) => line.split(",")[header.indexOf(column)];
    const aliceLine = lines[2] ?? "";
    expect(cell(aliceLine, "primaryUsedPercent")).toBe("80");
    expect(cell(aliceLine, "primaryForecast")).toBe("exhausts");
    expect(cell(aliceLine, "primaryResetsAt")).toBe(new Date(ALICE_RESET).toISOString());
    expect(cell(lines[4] ?? "", "creditsBalance")).toBe("12.5");
    expect(cell(lines[4] ?? "", "secondaryForecast")).toBe("");
    // A limit name that looks like a formula is not one in a spreadsheet.
    expect(cell(lines[3] ?? "", "limitName")).not.toBe("=SUM(1)");
    expect(cell(lines[3] ?? "", "limitName")).toContain("SUM(1)");
  });

  it.each([
    ["teams=a", "teams"],
    ["team=a&team=b", "team"],
    [`target=${"x".repeat(201)}`, "target"],
    ["format=xml", "format"],
  ])("does answer ?%s with a 400 naming %s", async (query, param) => {
    const res = await get(`/api/v1/limits?${query}`);
    expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
  });
});

describe("GET /api/v1/limits/history", () => {
  it("does answer one window's samples oldest first, over the last 7 days by default", async () => {
    const res = await get("/api/v1/limits/history?target=alice&window=primary");
    expect(res.statusCode).toBe(200);
    const body = LimitHistoryResponseSchema.parse(res.json());
    expect(body).toEqual({
      target: "alice",
      limitId: "codex",
      window: "primary",
      points: ALICE_SAMPLES.map((s) => ({
        at: new Date(s.atMs).toISOString(),
        usedPercent: s.usedPercent,
        resetsAt: new Date(ALICE_RESET).toISOString(),
      })),
    });
    const secondary = LimitHistoryResponseSchema.parse(
      (await get("/api/v1/limits/history?target=alice&window=secondary")).json(),
    );
    expect(secondary.points).toEqual([]);
  });

  it("does keep to from/to", async () => {
    const from = new Date(T - 30 * MIN).toISOString();
    const to = new Date(T - 10 * MIN).toISOString();
    const body = LimitHistoryResponseSchema.parse(
      (await get(`/api/v1/limits/history?target=alice&from=${from}&to=${to}`)).json(),
    );
    expect(body.points.map((p) => p.usedPercent)).toEqual([70]);
  });

  it("does thin a long series evenly to at most 5,000 points, first and last kept", async () => {
    const res = await get("/api/v1/limits/history?target=bob&limitId=codex&window=secondary");
    const body = LimitHistoryResponseSchema.parse(res.json());
    // The default window is the 7 days up to now: the oldest 30 minutes of samples fall out.
    const inWindow = BOB_HISTORY.filter((s) => s.atMs >= Date.parse(body.points[0]?.at ?? ""));
    expect(inWindow.length).toBeGreaterThan(MAX_HISTORY_POINTS);
    expect(body.points).toHaveLength(MAX_HISTORY_POINTS);
    expect(body.points.at(-1)?.at).toBe(new Date(T).toISOString());
    const times = body.points.map((p) => Date.parse(p.at));
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] ?? 0))).toBe(true);
  });

  it.each([
    ["", "target"],
    ["target=", "target"],
    ["target=alice&window=tertiary", "window"],
    ["target=alice&from=yesterday", "from"],
    ["target=alice&from=2026-12-02&to=2026-12-01", "from"],
    ["target=alice&from=2020-01-01&to=2026-01-01", "from"],
    ["target=alice&team=a", "team"],
    ["target=alice&limitId=a&limitId=b", "limitId"],
  ])("does answer ?%s with a 400 naming %s", async (query, param) => {
    const res = await get(`/api/v1/limits/history?${query}`);
    expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
    expect(res.json().error?.message).toMatch(new RegExp(`^${param}: `));
  });
});

describe("thinEvenly", () => {
  it.each([
    [[], 3, []],
    [[1, 2, 3], 3, [1, 2, 3]],
    [[1, 2, 3, 4, 5], 3, [1, 3, 5]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4, [1, 4, 7, 10]],
    [[1, 2, 3], 1, [3]],
  ])("does thin %j to at most %i points as %j", (points, max, expected) => {
    expect(thinEvenly(points, max)).toEqual(expected);
  });
});
