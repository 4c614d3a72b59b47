/** The `budgets:` config section and the budget alert rules (issue 14): defaults and exact errors. */
import { afterAll, describe, expect, it } from "vitest";
import { errorOf, loadFile, removeScratchDirs } from "../../support/config-files.ts";

afterAll(removeScratchDirs);

describe("config: budgets", () => {
  it("does parse the README example with its defaults", async () => {
    const { config } = await loadFile(
      [
        "budgets:",
        "  - { id: alice-daily, scope: developer, subject: alice, period: day, unit: usd, amount: 40 }",
        "  - { id: payments-month, scope: team, subject: payments, period: month, unit: usd, amount: 2000, warnPct: 90 }",
        "  - { id: fleet-weekly-window, scope: fleet, unit: planPct, amount: 90 }",
        "alerts:",
        "  rules:",
        "    - { id: budget-80, kind: budget, thresholdPct: 80, budgets: [alice-daily, payments-month] }",
        "    - { id: budget-forecast, kind: budgetForecast }",
        "    - { id: window-90, kind: planWindow, scope: team, thresholdPct: 90, window: secondary }",
        "    - { id: runs-out, kind: planForecast, minMinutesBeforeReset: 120 }",
        "    - { id: stopped, kind: limitReached }",
      ].join("\n"),
    );
    expect(config.budgets).toEqual([
      {
        id: "alice-daily",
        scope: "developer",
        subject: "alice",
        period: "day",
        unit: "usd",
        amount: 40,
        warnPct: 80,
        window: null,
        limitId: null,
      },
      {
        id: "payments-month",
        scope: "team",
        subject: "payments",
        period: "month",
        unit: "usd",
        amount: 2000,
        warnPct: 90,
        window: null,
        limitId: null,
      },
      {
        id: "fleet-weekly-window",
        scope: "fleet",
        subject: null,
        period: null,
        unit: "planPct",
        amount: 90,
        warnPct: 80,
        window: "secondary",
        limitId: "codex",
      },
    ]);
    expect(config.alerts.rules.map((r) => r.kind)).toEqual([
      "budget",
      "budgetForecast",
      "planWindow",
      "planForecast",
      "limitReached",
    ]);
    expect(config.alerts.rules[3]).toMatchObject({ window: "any", minMinutesBeforeReset: 120 });
    expect(config.alerts.rules[4]).toMatchObject({ windowMs: 3_600_000 });
  });

  it("does default to no budgets", async () => {
    expect((await loadFile("logLevel: info")).config.budgets).toEqual([]);
  });

  const usd = "scope: developer, subject: alice, period: day, unit: usd, amount: 10";
  it.each([
    [
      "a duplicate id",
      `budgets: [{ id: a, ${usd} }, { id: a, ${usd} }]`,
      'budgets[1].id: duplicate budget id "a" (first used by budgets[0].id)',
    ],
    [
      "a zero amount",
      "budgets: [{ id: a, scope: fleet, period: day, unit: usd, amount: 0 }]",
      "budgets[0].amount: must be greater than 0",
    ],
    [
      "a developer budget without subject",
      "budgets: [{ id: a, scope: developer, period: day, unit: usd, amount: 5 }]",
      "budgets[0].subject: is required for scope developer (the target name)",
    ],
    [
      "a team budget without subject",
      "budgets: [{ id: a, scope: team, period: day, unit: usd, amount: 5 }]",
      "budgets[0].subject: is required for scope team (the team name)",
    ],
    [
      "a fleet budget with a subject",
      "budgets: [{ id: a, scope: fleet, subject: x, period: day, unit: usd, amount: 5 }]",
      "budgets[0].subject: must be omitted for scope fleet",
    ],
    [
      "a usd budget without period",
      "budgets: [{ id: a, scope: fleet, unit: usd, amount: 5 }]",
      "budgets[0].period: is required for unit usd (day, week or month)",
    ],
    [
      "a usd budget with a window",
      `budgets: [{ id: a, ${usd}, window: primary }]`,
      "budgets[0].window: applies to unit planPct only",
    ],
    [
      "a planPct budget with a period",
      "budgets: [{ id: a, scope: fleet, unit: planPct, period: week, amount: 80 }]",
      "budgets[0].period: does not apply to unit planPct: the period is the plan window itself (remove it)",
    ],
    [
      "a planPct budget over 100 %",
      "budgets: [{ id: a, scope: fleet, unit: planPct, amount: 120 }]",
      "budgets[0].amount: must be at most 100 for unit planPct (a % of the window)",
    ],
    [
      "an unknown period",
      "budgets: [{ id: a, scope: fleet, unit: usd, period: year, amount: 5 }]",
      'budgets[0].period: must be one of "day", "week", "month"',
    ],
    ["an unknown key", `budgets: [{ id: a, ${usd}, currency: eur }]`, "budgets[0].currency: unknown key"],
    [
      "a budget rule naming an unknown budget",
      `budgets: [{ id: a, ${usd} }]\nalerts: { rules: [{ id: r, kind: budget, thresholdPct: 80, budgets: [a, typo] }] }`,
      'alerts.rules[0].budgets[1]: no budget with id "typo" (budgets: a)',
    ],
    [
      "a planWindow rule without threshold",
      "alerts: { rules: [{ id: r, kind: planWindow }] }",
      "alerts.rules[0].thresholdPct: is required",
    ],
    [
      "a planWindow rule for the fleet",
      "alerts: { rules: [{ id: r, kind: planWindow, scope: fleet, thresholdPct: 90 }] }",
      'alerts.rules[0].scope: must be one of "developer", "team"',
    ],
  ])("does reject %s", async (_name, yaml, message) => {
    expect(await errorOf(loadFile(yaml))).toContain(message);
  });
});
