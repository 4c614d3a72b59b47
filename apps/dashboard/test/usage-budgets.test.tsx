/**
 * The Usage page's Budgets panel (issue 14) against canned GET /api/v1/budgets answers: each
 * budget's bar, remaining, forecast with its method, status, the unpriced caveat, a team's fullest
 * member; nothing when no budget is configured or the collector has no budgets route; the error
 * with a retry.
 */
import type { BudgetRow, BudgetsResponse } from "@codex-fleet/protocol/budgets";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { usageResponse } from "./fixtures.ts";
import { renderApp } from "./render-app.tsx";
import { type Answer, apiError, stubFetch } from "./stub-fetch.ts";

function row(patch: Partial<BudgetRow>): BudgetRow {
  return {
    id: "alice-day",
    scope: "developer",
    subject: "alice",
    unit: "usd",
    period: "day",
    limitId: null,
    periodStart: "2026-11-11T00:00:00.000Z",
    periodEnd: "2026-11-12T00:00:00.000Z",
    amount: 40,
    spent: 30,
    remaining: 10,
    usedPct: 75,
    forecast: 60,
    forecastMethod: "periodAverage",
    status: "forecastOver",
    member: null,
    unpricedTokens: 4096,
    detail:
      "Forecast: the average burn of the day so far (12 h) run on to its end. 4096 tokens have no price: the spend is a lower bound.",
    ...patch,
  };
}

const ROWS: BudgetRow[] = [
  row({}),
  row({
    id: "team-window",
    scope: "team",
    subject: "payments",
    unit: "planPct",
    period: "secondary",
    limitId: "codex",
    periodEnd: "2026-11-12T12:00:00.000Z",
    amount: 80,
    spent: 72,
    remaining: 8,
    usedPct: 90,
    forecast: 84,
    forecastMethod: "windowAverage",
    status: "forecastOver",
    member: "bob",
    unpricedTokens: 0,
  }),
  row({
    id: "fleet-month",
    scope: "fleet",
    subject: null,
    period: "month",
    amount: 1000,
    spent: 1200,
    remaining: -200,
    usedPct: 120,
    forecast: null,
    forecastMethod: null,
    status: "over",
    unpricedTokens: 0,
  }),
  row({
    id: "ghost-day",
    subject: "ghost",
    spent: null,
    remaining: null,
    usedPct: null,
    forecast: null,
    forecastMethod: null,
    status: "noData",
    unpricedTokens: 0,
    detail: 'No target named "ghost" is configured and it has no usage this day.',
  }),
];

function setup(budgets: Answer) {
  return stubFetch({
    "GET /api/v1/usage": { body: usageResponse([], []) },
    "GET /api/v1/alerts": { body: [] },
    "GET /api/v1/budgets": budgets,
  });
}

const answer = (rows: BudgetRow[]): Answer => ({
  body: { at: "2026-11-11T12:00:00.000Z", rows } satisfies BudgetsResponse,
});

describe("Usage page: budgets", () => {
  it("does show each budget's spend bar, remaining, forecast with its method and status", async () => {
    setup(answer(ROWS));
    renderApp("/usage");
    const panel = await screen.findByTestId("budgets-panel", {}, { timeout: 4000 });
    const alice = within(panel).getByTestId("budget-alice-day");
    expect(within(alice).getByTestId("budget-bar-alice-day")).toHaveAttribute("data-fill", "75");
    expect(alice).toHaveTextContent("$30.00 of $40.00");
    expect(alice).toHaveTextContent("$10.00");
    expect(alice).toHaveTextContent("$60.00");
    expect(alice).toHaveTextContent("average so far × period");
    expect(alice).toHaveTextContent("Forecast over");
    expect(alice).toHaveTextContent("lower bound: 4,096 unpriced tokens");
    expect(alice).toHaveTextContent("today (UTC)");

    const team = within(panel).getByTestId("budget-team-window");
    expect(team).toHaveTextContent("Team payments");
    expect(team).toHaveTextContent("72 % of 80 %");
    expect(team).toHaveTextContent("fullest: bob");
    expect(team).toHaveTextContent("window's average burn rate");

    const fleet = within(panel).getByTestId("budget-fleet-month");
    expect(within(fleet).getByTestId("budget-bar-fleet-month")).toHaveAttribute("data-fill", "100");
    expect(fleet).toHaveTextContent("Over budget");
    expect(fleet).toHaveTextContent("over by $200.00");
    expect(fleet).toHaveTextContent("too early");
    expect(fleet).toHaveTextContent("this month (UTC)");

    const ghost = within(panel).getByTestId("budget-ghost-day");
    expect(ghost).toHaveTextContent("No data");
    expect(ghost).toHaveTextContent('No target named "ghost"');
  });

  it("does show nothing when no budget is configured, nor for a collector without budgets", async () => {
    for (const budgets of [answer([]), apiError(404, "NOT_FOUND", "Route GET:/api/v1/budgets not found")]) {
      const { callsTo } = setup(budgets);
      const { unmount } = renderApp("/usage");
      await waitFor(() => expect(callsTo("/api/v1/budgets")).toHaveLength(1));
      await screen.findByTestId("usage-empty", {}, { timeout: 4000 });
      expect(screen.queryByTestId("budgets-panel")).toBeNull();
      expect(screen.queryByText("Budgets")).toBeNull();
      unmount();
    }
  });

  it("does show the API's error with a retry that reloads", async () => {
    let calls = 0;
    const { callsTo } = setup(() => {
      calls += 1;
      return calls === 1 ? apiError(500, "INTERNAL", "boom") : answer(ROWS.slice(0, 1));
    });
    renderApp("/usage");
    const retry = await screen.findByRole("button", { name: /retry/i }, { timeout: 4000 });
    expect(screen.getByText("Budgets")).toBeInTheDocument();
    fireEvent.click(retry);
    await screen.findByTestId("budgets-panel");
    expect(callsTo("/api/v1/budgets")).toHaveLength(2);
  });
});
