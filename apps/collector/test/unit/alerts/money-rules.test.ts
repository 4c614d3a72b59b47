/**
 * The money rules (issue 14), pure: what holds them, who a team alert names, the forecast's
 * minutes before the reset, hostile strings from an app-server cut in identities and summaries,
 * and the labels (budget, limitId, window) routes and silences match.
 */
import type { BudgetRow } from "@codex-fleet/protocol/budgets";
import type { PlanLimitState } from "@codex-fleet/protocol/limits";
import { describe, expect, it } from "vitest";
import { evaluateRule } from "../../../src/alerts/evaluate.ts";
import { alertLabels } from "../../../src/alerts/labels.ts";
import { alertView } from "../../../src/alerts/views.ts";
import type { PlanMember } from "../../../src/budgets/evaluate.ts";
import { MIN, rule, snapshot, T0 } from "../../support/alert-fixtures.ts";

const H = 60 * MIN;

function member(target: string, team: string, patch: Partial<PlanLimitState> = {}): PlanMember {
  return {
    target,
    team,
    state: {
      limitId: "codex",
      limitName: null,
      planType: null,
      primary: { usedPercent: 50, windowDurationMins: 300, resetsAtMs: T0 + 2 * H, observedAtMs: T0 },
      secondary: { usedPercent: 95, windowDurationMins: 10_080, resetsAtMs: T0 + 48 * H, observedAtMs: T0 },
      credits: null,
      rateLimitReachedType: null,
      rateLimitReachedAtMs: null,
      spendControlReached: null,
      observedAtMs: T0,
      ...patch,
    },
    samples: { primary: [], secondary: [] },
  };
}

const budgetRow = (patch: Partial<BudgetRow>): BudgetRow => ({
  id: "b1",
  scope: "team",
  subject: "payments",
  unit: "usd",
  period: "week",
  limitId: null,
  periodStart: null,
  periodEnd: null,
  amount: 100,
  spent: 90,
  remaining: 10,
  usedPct: 90,
  forecast: 150,
  forecastMethod: "periodAverage",
  status: "forecastOver",
  member: null,
  unpricedTokens: 0,
  detail: "",
  ...patch,
});

describe("money rules", () => {
  it("does hold the budget rules while the budgets cannot be read, and the plan rules without plan limits", () => {
    for (const kind of ["budget", "budgetForecast"]) {
      const r = rule({ kind, ...(kind === "budget" ? { thresholdPct: 80 } : {}) });
      expect(evaluateRule(r, snapshot({ budgets: null }), T0).heldAll).toBe(true);
    }
    expect(
      evaluateRule(rule({ kind: "planWindow", thresholdPct: 80 }), snapshot({ plans: null }), T0).heldAll,
    ).toBe(true);
    const reached = rule({ kind: "limitReached" });
    expect(evaluateRule(reached, snapshot({ plans: null, failures: null }), T0).heldAll).toBe(true);
    // One source is enough to decide.
    expect(evaluateRule(reached, snapshot({ plans: null, failures: [] }), T0).heldAll).toBe(false);
  });

  it("does fire budget rules only for the listed budgets, at their thresholds, with the budget label", () => {
    const snap = snapshot({ budgets: [budgetRow({}), budgetRow({ id: "b2", usedPct: 50, forecast: 90 })] });
    const over = evaluateRule(rule({ kind: "budget", thresholdPct: 80 }), snap, T0).conditions;
    expect(over.map((c) => [c.subject.type, c.subject.id, c.subject.group, c.value])).toEqual([
      ["team", "payments", "b1", 90],
    ]);
    const forecast = evaluateRule(rule({ kind: "budgetForecast", budgets: ["b2"] }), snap, T0).conditions;
    expect(forecast).toEqual([]);
    const c = evaluateRule(rule({ kind: "budgetForecast" }), snap, T0).conditions[0];
    expect(c?.summary).toBe(
      "Budget b1 (team payments, $100.00 a week) is forecast over budget by the end of the week",
    );
    const labels = alertLabels(
      alertView({
        id: "a",
        ruleId: "r",
        kind: "budgetForecast",
        severity: "warning",
        subject: c?.subject ?? {
          type: "fleet",
          id: "",
          group: "",
          targetId: null,
          threadId: null,
          team: null,
        },
        state: "firing",
        summary: "",
        value: null,
        details: {},
        pendingSinceMs: T0,
        firingSinceMs: T0,
        resolvedAtMs: null,
        lastNotifiedAtMs: null,
        ackBy: null,
        ackRole: null,
        ackAtMs: null,
        silenced: false,
        updatedAtMs: T0,
      }),
    );
    expect(labels).toMatchObject({ budget: "b1", team: "payments", subjectType: "team" });
  });

  it("does name a team's fullest member, skip windows whose reset passed, and watch one window", () => {
    const stale = member("carol", "payments", {
      secondary: { usedPercent: 100, windowDurationMins: 10_080, resetsAtMs: T0 - MIN, observedAtMs: T0 - H },
    });
    const snap = snapshot({
      plans: [member("alice", "payments"), member("bob", "payments", { primary: null }), stale],
    });
    const out = evaluateRule(
      rule({ kind: "planWindow", scope: "team", thresholdPct: 90, window: "secondary" }),
      snap,
      T0,
    );
    expect(out.conditions.map((c) => [c.subject.id, c.subject.group, c.details.member])).toEqual([
      ["payments", "codex/secondary", "alice"],
    ]);
    const any = evaluateRule(rule({ kind: "planWindow", thresholdPct: 40, window: "any" }), snap, T0);
    expect(any.conditions.map((c) => [c.subject.id, c.subject.group]).sort()).toEqual([
      ["alice", "codex/primary"],
      ["alice", "codex/secondary"],
      ["bob", "codex/secondary"],
      ["carol", "codex/primary"],
    ]);
  });

  it("does fire planForecast only when the window runs out at least minMinutesBeforeReset early", () => {
    // 50 % in the 3 h since the primary window started: 100 % at T0 + 3 h, an hour after it resets.
    const slow = member("alice", "payments", { secondary: null });
    expect(evaluateRule(rule({ kind: "planForecast" }), snapshot({ plans: [slow] }), T0).conditions).toEqual(
      [],
    );
    // 80 % in 3 h: 100 % at T0 + 45 min, 75 min before the reset.
    const fast = member("alice", "payments", {
      secondary: null,
      primary: { usedPercent: 80, windowDurationMins: 300, resetsAtMs: T0 + 2 * H, observedAtMs: T0 },
    });
    const at = (min: number) =>
      evaluateRule(
        rule({ kind: "planForecast", minMinutesBeforeReset: min }),
        snapshot({ plans: [fast] }),
        T0,
      );
    expect(at(75).conditions.map((c) => [c.subject.id, c.subject.group, c.value])).toEqual([
      ["alice", "codex/primary", 75],
    ]);
    expect(at(76).conditions).toEqual([]);
  });

  it("does cut a hostile server's limit id and reached type in identities and summaries", () => {
    const long = "x".repeat(5000);
    const hostile = member("alice", "payments", { limitId: long, rateLimitReachedType: long });
    const window = evaluateRule(
      rule({ kind: "planWindow", thresholdPct: 90 }),
      snapshot({ plans: [hostile] }),
      T0,
    );
    expect(window.conditions[0]?.subject.group.length).toBeLessThan(120);
    expect(window.conditions[0]?.summary.length).toBeLessThan(250);
    const reached = evaluateRule(rule({ kind: "limitReached" }), snapshot({ plans: [hostile] }), T0);
    expect(reached.conditions[0]?.summary.length).toBeLessThan(200);
    expect(String(reached.conditions[0]?.details.limitIds).length).toBeLessThan(120);
  });
});
