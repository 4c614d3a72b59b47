/**
 * Budget evaluation (issue 14), pure, with an injected clock: periods (UTC, weeks from Monday),
 * spend and unpriced tokens per scope, the period-average forecast and its minimum elapsed time,
 * statuses, unknown subjects, and plan-window budgets (highest member, forecast at the reset).
 */
import type { BudgetSpendRow } from "@codex-fleet/db/queries/budgets";
import { periodBounds } from "@codex-fleet/protocol/budgets";
import type { PlanLimitState, PlanSample } from "@codex-fleet/protocol/limits";
import { describe, expect, it } from "vitest";
import {
  type BudgetInputs,
  budgetStatus,
  evaluateBudget,
  type PlanMember,
} from "../../../src/budgets/evaluate.ts";
import { BudgetSchema } from "../../../src/config/schema.ts";

const H = 3_600_000;
// Wednesday 2026-11-11 06:00 UTC: day 6 h in, week (from Mon 9th) 2 d 6 h in, month 10 d 6 h in.
const NOW = Date.UTC(2026, 10, 11, 6);

const budget = (input: Record<string, unknown>) => BudgetSchema.parse({ id: "b", amount: 100, ...input });

const spendRow = (targetId: string, team: string, day: number, week: number, month: number, unpriced = 0) =>
  ({
    targetId,
    team,
    day: { costUsd: day, unpricedTokens: unpriced },
    week: { costUsd: week, unpricedTokens: unpriced },
    month: { costUsd: month, unpricedTokens: unpriced },
  }) satisfies BudgetSpendRow;

const inputs = (patch: Partial<BudgetInputs> = {}): BudgetInputs => ({
  nowMs: NOW,
  spend: [spendRow("alice", "payments", 5, 20, 40), spendRow("bob", "payments", 1, 2, 3, 1200)],
  plans: [],
  knownTargets: [
    { id: "alice", team: "payments" },
    { id: "bob", team: "payments" },
    { id: "carol", team: "search" },
  ],
  ...patch,
});

describe("periodBounds", () => {
  it.each([
    ["day", Date.UTC(2026, 10, 11), Date.UTC(2026, 10, 12)],
    ["week", Date.UTC(2026, 10, 9), Date.UTC(2026, 10, 16)],
    ["month", Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1)],
  ] as const)("does bound the %s in UTC (weeks from Monday)", (period, start, end) => {
    expect(periodBounds(period, NOW)).toEqual({ startMs: start, endMs: end });
  });

  it("does start a Sunday's week on the Monday before, and December's month ends at New Year", () => {
    const sunday = Date.UTC(2026, 10, 15, 23, 59);
    expect(periodBounds("week", sunday).startMs).toBe(Date.UTC(2026, 10, 9));
    expect(periodBounds("month", Date.UTC(2026, 11, 31, 23)).endMs).toBe(Date.UTC(2027, 0, 1));
  });
});

describe("evaluateBudget: usd", () => {
  it("does sum a developer's spend and run the period average on to the end of the month", () => {
    const row = evaluateBudget(
      budget({ scope: "developer", subject: "alice", unit: "usd", period: "month" }),
      inputs(),
    );
    // 40 USD after 10.25 of 30 days → 40 × 30 / 10.25.
    expect(row).toMatchObject({
      spent: 40,
      remaining: 60,
      usedPct: 40,
      forecastMethod: "periodAverage",
      status: "forecastOver",
      periodStart: "2026-11-01T00:00:00.000Z",
      periodEnd: "2026-12-01T00:00:00.000Z",
      unpricedTokens: 0,
    });
    expect(row.forecast).toBeCloseTo((40 * 30) / 10.25, 4);
  });

  it("does sum a team's members and say the spend is a lower bound with unpriced tokens", () => {
    const row = evaluateBudget(
      budget({ scope: "team", subject: "payments", unit: "usd", period: "week", amount: 50 }),
      inputs(),
    );
    expect(row.spent).toBe(22);
    expect(row.unpricedTokens).toBe(1200);
    expect(row.detail).toContain("1200 tokens have no price: the spend is a lower bound");
    // 22 after 2.25 of 7 days → 68.4 > 50.
    expect(row.forecast).toBeCloseTo((22 * 7) / 2.25, 4);
    expect(row.status).toBe("forecastOver");
  });

  it("does sum the whole fleet and report over once the amount is reached", () => {
    const row = evaluateBudget(budget({ scope: "fleet", unit: "usd", period: "day", amount: 6 }), inputs());
    expect(row).toMatchObject({ spent: 6, remaining: 0, usedPct: 100, status: "over", subject: null });
  });

  it("does give no forecast before the minimum elapsed time (1 h of a day, 1 day of a week)", () => {
    const early = Date.UTC(2026, 10, 9, 0, 30); // Monday 00:30
    const day = evaluateBudget(
      budget({ scope: "fleet", unit: "usd", period: "day" }),
      inputs({ nowMs: early }),
    );
    const week = evaluateBudget(
      budget({ scope: "fleet", unit: "usd", period: "week" }),
      inputs({ nowMs: Date.UTC(2026, 10, 9, 23) }),
    );
    expect([day.forecast, day.forecastMethod]).toEqual([null, null]);
    expect(day.detail).toContain("No forecast before 1 h of the day");
    expect([week.forecast, week.forecastMethod]).toEqual([null, null]);
    const later = evaluateBudget(
      budget({ scope: "fleet", unit: "usd", period: "day" }),
      inputs({ nowMs: early + H }),
    );
    expect(later.forecastMethod).toBe("periodAverage");
  });

  it("does say ok for a known developer who spent nothing, and noData for an unknown one", () => {
    const carol = evaluateBudget(
      budget({ scope: "developer", subject: "carol", unit: "usd", period: "day" }),
      inputs(),
    );
    expect(carol).toMatchObject({ spent: 0, forecast: 0, status: "ok" });
    const dave = evaluateBudget(
      budget({ scope: "developer", subject: "dave", unit: "usd", period: "day" }),
      inputs(),
    );
    expect(dave).toMatchObject({ spent: null, remaining: null, forecast: null, status: "noData" });
    expect(dave.detail).toContain('No target named "dave"');
    const team = evaluateBudget(
      budget({ scope: "team", subject: "search", unit: "usd", period: "day" }),
      inputs(),
    );
    expect(team.status).toBe("ok");
    expect(
      evaluateBudget(budget({ scope: "team", subject: "ghosts", unit: "usd", period: "day" }), inputs())
        .status,
    ).toBe("noData");
  });

  it("does count a subject with usage even when it is not configured (a removed target's spend)", () => {
    const row = evaluateBudget(
      budget({ scope: "developer", subject: "eve", unit: "usd", period: "day" }),
      inputs({ spend: [spendRow("eve", "", 2, 2, 2)] }),
    );
    expect(row).toMatchObject({ spent: 2, status: "ok" });
  });
});

describe("budgetStatus", () => {
  it.each([
    [100, null, "over"],
    [50, 120, "forecastOver"],
    [85, 95, "warning"],
    [79, 99, "ok"],
    [80, null, "warning"],
  ] as const)("spent %d, forecast %s → %s", (spent, forecast, status) => {
    expect(budgetStatus({ spent, amount: 100, forecast, warnPct: 80 })).toBe(status);
  });
});

const RESET = NOW + 50 * H;
const WEEK_MIN = 7 * 24 * 60;

function plan(target: string, team: string, used: number, patch: Partial<PlanLimitState> = {}): PlanMember {
  return {
    target,
    team,
    state: {
      limitId: "codex",
      limitName: null,
      planType: "plus",
      primary: null,
      secondary: { usedPercent: used, windowDurationMins: WEEK_MIN, resetsAtMs: RESET, observedAtMs: NOW },
      credits: null,
      rateLimitReachedType: null,
      rateLimitReachedAtMs: null,
      spendControlReached: null,
      observedAtMs: NOW,
      ...patch,
    },
    samples: { primary: [], secondary: [] },
  };
}

describe("evaluateBudget: planPct", () => {
  const pct = (input: Record<string, unknown>) => budget({ unit: "planPct", amount: 90, ...input });

  it("does take a developer's window, forecast at the reset by the window average", () => {
    // Window started 168 − 50 = 118 h ago; 59 % used → 0.5 %/h; 50 h more → 84 %.
    const row = evaluateBudget(
      pct({ scope: "developer", subject: "alice" }),
      inputs({ plans: [plan("alice", "payments", 59)] }),
    );
    expect(row).toMatchObject({
      period: "secondary",
      limitId: "codex",
      spent: 59,
      remaining: 31,
      forecast: 84,
      forecastMethod: "windowAverage",
      status: "ok",
      member: "alice",
      periodEnd: new Date(RESET).toISOString(),
      periodStart: new Date(RESET - WEEK_MIN * 60_000).toISOString(),
    });
  });

  it("does take the fullest member of a team and the highest forecast, capped at 100", () => {
    const samples: PlanSample[] = [
      { atMs: NOW - 40 * 60_000, usedPercent: 30, resetsAtMs: RESET },
      { atMs: NOW, usedPercent: 50, resetsAtMs: RESET },
    ];
    const fast = { ...plan("bob", "payments", 50), samples: { primary: [], secondary: samples } };
    const row = evaluateBudget(
      pct({ scope: "team", subject: "payments" }),
      inputs({ plans: [plan("alice", "payments", 70), fast, plan("carol", "search", 99)] }),
    );
    expect(row).toMatchObject({ spent: 70, member: "alice", forecast: 100, forecastMethod: "recentSlope" });
    expect(row.status).toBe("forecastOver");
    expect(row.detail).toContain("alice: 70 % of the secondary window used");
    expect(row.detail).toContain("(bob)");
  });

  it("does ignore a window whose reset has passed and another limit id, saying there is no data", () => {
    const stale = plan("alice", "payments", 95, {
      secondary: {
        usedPercent: 95,
        windowDurationMins: WEEK_MIN,
        resetsAtMs: NOW - H,
        observedAtMs: NOW - 2 * H,
      },
    });
    const other = plan("alice", "payments", 99, { limitId: "codex_other" });
    const row = evaluateBudget(
      pct({ scope: "developer", subject: "alice" }),
      inputs({ plans: [stale, other] }),
    );
    expect(row).toMatchObject({ status: "noData", spent: null, member: null });
  });

  it("does report over for an exhausted window, its forecast the figure itself", () => {
    const row = evaluateBudget(pct({ scope: "fleet" }), inputs({ plans: [plan("bob", "payments", 100)] }));
    expect(row).toMatchObject({ status: "over", spent: 100, forecast: 100, forecastMethod: null });
  });
});
