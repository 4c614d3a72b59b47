/**
 * GET /api/v1/budgets over HTTP (issue 14), built by the product's composition root on a real
 * Postgres with a fake clock: usage seeded in the rollups and plan limits through their repository;
 * the rows' figures and forecasts, an unknown subject, CSV, viewer access and the house 400s.
 */
import { savePlanLimit } from "@codex-fleet/db/repositories/plan-limits-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { BudgetsResponseSchema } from "@codex-fleet/protocol/budgets";
import type { PlanLimitState } from "@codex-fleet/protocol/limits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

const H = 3_600_000;
// Wednesday 2026-11-11 12:00 UTC.
const NOW = Date.UTC(2026, 10, 11, 12);
const RESET = NOW + 24 * H;
const WEEK_MIN = 7 * 24 * 60;

let testDb: TestDatabase;
let fleet: AuthApp;

function get(url: string, token: string | null = VIEWER_TOKEN) {
  return fleet.app.inject({
    method: "GET",
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

function plan(usedPercent: number): PlanLimitState {
  return {
    limitId: "codex",
    limitName: null,
    planType: "plus",
    primary: null,
    secondary: { usedPercent, windowDurationMins: WEEK_MIN, resetsAtMs: RESET, observedAtMs: NOW - 60_000 },
    credits: null,
    rateLimitReachedType: null,
    rateLimitReachedAtMs: null,
    spendControlReached: null,
    observedAtMs: NOW - 60_000,
  };
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  fleet = await startAuthApp({
    db: testDb,
    now: () => NOW,
    yaml: [
      "server: { host: 127.0.0.1 }",
      "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
      "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }, { name: bob, team: payments, url: 'ws://127.0.0.1:2' }]",
      "budgets:",
      "  - { id: alice-day, scope: developer, subject: alice, period: day, unit: usd, amount: 40 }",
      "  - { id: payments-week, scope: team, subject: payments, period: week, unit: usd, amount: 500, warnPct: 50 }",
      "  - { id: fleet-month, scope: fleet, period: month, unit: usd, amount: 10000 }",
      "  - { id: ghost-day, scope: developer, subject: ghost, period: day, unit: usd, amount: 5 }",
      "  - { id: payments-window, scope: team, subject: payments, unit: planPct, amount: 80 }",
    ].join("\n"),
  });
  const { pool } = fleet.db;
  const rows: [number, string, number, number][] = [
    [Date.UTC(2026, 10, 2, 10), "alice", 1000, 0], // this month, last week
    [Date.UTC(2026, 10, 9, 10), "bob", 200, 0], // Monday: this week
    [Date.UTC(2026, 10, 11, 3), "alice", 12, 0], // today
    [Date.UTC(2026, 10, 11, 9), "alice", 18, 4096], // today, unpriced usage too
  ];
  for (const [hour, target, cost, unpriced] of rows)
    await pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, cost_usd, unpriced_tokens)
       VALUES (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', $2, 'payments', 'gpt-5.5', '', $3, $4)`,
      [hour, target, cost, unpriced],
    );
  await savePlanLimit({ pool, targetId: "alice", state: plan(45) });
  await savePlanLimit({ pool, targetId: "bob", state: plan(72) });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("GET /api/v1/budgets", () => {
  it("does evaluate every budget: spend, remaining, forecast and status", async () => {
    const res = await get("/api/v1/budgets");
    expect(res.statusCode).toBe(200);
    const body = BudgetsResponseSchema.parse(res.json());
    expect(body.at).toBe(new Date(NOW).toISOString());
    const byId = new Map(body.rows.map((r) => [r.id, r]));
    expect(body.rows.map((r) => r.id)).toEqual([
      "alice-day",
      "payments-week",
      "fleet-month",
      "ghost-day",
      "payments-window",
    ]);
    // 30 USD by noon: forecast 60 > 40.
    expect(byId.get("alice-day")).toMatchObject({
      spent: 30,
      remaining: 10,
      usedPct: 75,
      forecast: 60,
      forecastMethod: "periodAverage",
      status: "forecastOver",
      unpricedTokens: 4096,
      periodStart: "2026-11-11T00:00:00.000Z",
      periodEnd: "2026-11-12T00:00:00.000Z",
    });
    expect(byId.get("alice-day")?.detail).toContain("4096 tokens have no price: the spend is a lower bound.");
    // 230 USD after 2.5 of 7 days (forecast 644 > 500).
    expect(byId.get("payments-week")).toMatchObject({ spent: 230, usedPct: 46, status: "forecastOver" });
    expect(byId.get("payments-week")?.forecast).toBeCloseTo((230 * 7) / 2.5, 6);
    expect(byId.get("fleet-month")).toMatchObject({ spent: 1230, status: "ok" });
    expect(byId.get("ghost-day")).toMatchObject({ status: "noData", spent: null, forecast: null });
    // bob is the fullest member; the week's average burn (72 % in 144 h) runs on 24 h to 84 %.
    expect(byId.get("payments-window")).toMatchObject({
      unit: "planPct",
      period: "secondary",
      limitId: "codex",
      spent: 72,
      member: "bob",
      forecast: 84,
      forecastMethod: "windowAverage",
      status: "forecastOver",
      periodEnd: new Date(RESET).toISOString(),
    });
  });

  it("does filter by scope and id", async () => {
    const team = BudgetsResponseSchema.parse((await get("/api/v1/budgets?scope=team")).json());
    expect(team.rows.map((r) => r.id)).toEqual(["payments-week", "payments-window"]);
    const two = BudgetsResponseSchema.parse((await get("/api/v1/budgets?id=fleet-month,alice-day")).json());
    expect(two.rows.map((r) => r.id)).toEqual(["alice-day", "fleet-month"]);
  });

  it("does answer CSV with the row's columns", async () => {
    const res = await get("/api/v1/budgets?format=csv&id=alice-day");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    const [header, line] = res.body.trim().split("\r\n");
    expect(header).toBe(
      "id,scope,subject,unit,period,limitId,periodStart,periodEnd,amount,spent,remaining,usedPct,forecast,forecastMethod,status,member,unpricedTokens,detail",
    );
    expect(line).toMatch(
      /^alice-day,developer,alice,usd,day,,2026-11-11T00:00:00.000Z,2026-11-12T00:00:00.000Z,40,30,10,75,60,periodAverage,forecastOver,,4096,/,
    );
  });

  it("does list the default money rules with the rules in force", async () => {
    const res = await get("/api/v1/alerts/rules");
    expect(res.statusCode).toBe(200);
    const rules = (res.json() as { id: string; kind: string }[]).filter((r) =>
      ["limitReached", "budget", "budgetForecast"].includes(r.kind),
    );
    expect(rules).toMatchObject([
      { id: "limit-reached", kind: "limitReached", windowMs: 3_600_000, source: "default" },
      { id: "budget-over", kind: "budget", thresholdPct: 100, source: "default" },
      { id: "budget-forecast", kind: "budgetForecast", source: "default" },
    ]);
  });

  it("does need a viewer", async () => {
    expect((await get("/api/v1/budgets", null)).statusCode).toBe(401);
    expect((await get("/api/v1/budgets", ADMIN_TOKEN)).statusCode).toBe(200);
  });

  it.each([
    ["scope=planet", "scope", "scope: must be one of developer, team, fleet"],
    ["format=xml", "format", "format: must be one of json, csv"],
    ["id=nope", "id", 'id: no budget with id "nope"'],
    ["group=x", "group", "group: unknown parameter (known: scope, id, format)"],
  ])("does answer 400 naming the parameter for %s", async (query, param, message) => {
    const res = await get(`/api/v1/budgets?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: "BAD_PARAMETER", param });
    expect(res.json().error.message).toContain(message);
  });
});
