/** The Usage page's "Failure reasons" panel (issue 11): GET /api/v1/usage/failures drawn and tabled. */
import type { FailureRow, FailuresResponse } from "@codex-fleet/protocol/api";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { NOW, USAGE_BY_DAY_MODEL, USAGE_BY_MODEL, USAGE_BY_TARGET, usageResponse } from "./fixtures.ts";
import { renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

function failures(rows: FailureRow[], groupBy: FailuresResponse["groupBy"]): FailuresResponse {
  const kinds = new Map<string | null, number>();
  for (const row of rows) kinds.set(row.kind, (kinds.get(row.kind) ?? 0) + row.failedTurns);
  return {
    from: "2026-11-15T00:00:00.000Z",
    to: new Date(NOW).toISOString(),
    groupBy,
    rows,
    kinds: [...kinds].map(([kind, failedTurns]) => ({ kind, failedTurns })),
    failedTurns: rows.reduce((sum, row) => sum + row.failedTurns, 0),
  };
}

const BY_DAY: FailureRow[] = [
  { day: "2026-11-19T00:00:00Z", kind: "usageLimitExceeded", failedTurns: 3 },
  { day: "2026-11-20T00:00:00Z", kind: "rateLimitExceeded", failedTurns: 2 },
  { day: "2026-11-21T00:00:00Z", kind: "usageLimitExceeded", failedTurns: 1 },
  { day: "2026-11-21T00:00:00Z", kind: "brandNewKind", failedTurns: 1 },
  { day: "2026-11-21T00:00:00Z", kind: null, failedTurns: 1 },
];
const BY_DEVELOPER: FailureRow[] = [
  { target: "alice", model: "gpt-5.5", kind: "usageLimitExceeded", failedTurns: 4 },
  { target: "alice", model: "gpt-5.5", kind: "brandNewKind", failedTurns: 1 },
  { target: "bob", model: "gpt-5.5-mini", kind: "rateLimitExceeded", failedTurns: 2 },
  { target: "bob", model: "gpt-5.5-mini", kind: null, failedTurns: 1 },
];

/** Answers /api/v1/usage and /api/v1/usage/failures by their groupBy, like the collector would. */
function setup(failureAnswers?: Record<string, Answer>) {
  const usage: Record<string, Answer> = {
    "day,model": { body: usageResponse(USAGE_BY_DAY_MODEL, ["day", "model"]) },
    "target,team": { body: usageResponse(USAGE_BY_TARGET, ["target", "team"]) },
    model: { body: usageResponse(USAGE_BY_MODEL, ["model"]) },
  };
  const fail: Record<string, Answer> = failureAnswers ?? {
    day: { body: failures(BY_DAY, ["day"]) },
    "target,model": { body: failures(BY_DEVELOPER, ["target", "model"]) },
  };
  const by =
    (answers: Record<string, Answer>, otherwise: unknown): Answer =>
    (url) =>
      answers[url.searchParams.get("groupBy") ?? ""] ?? { body: otherwise };
  return stubFetch({
    // Any other grouping of usage: one row, so that the page shows its panels.
    "GET /api/v1/usage": by(usage, usageResponse(USAGE_BY_MODEL, [])),
    "GET /api/v1/usage/failures": by(fail, failures([], [])),
    "GET /api/v1/alerts": { body: [] },
  });
}

describe("Failure reasons panel", () => {
  it("does show the failed-turn total and a table by developer and model with human labels", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    setup();
    renderApp("/usage");
    // The first test pays the lazy page chunk's cold import (slow on a loaded machine).
    const total = await screen.findByTestId("failure-total", {}, { timeout: 4000 });
    expect(total).toHaveAttribute("data-value", "8");
    expect(total).toHaveTextContent("8 failed turns (interrupted turns not counted)");
    const table = await screen.findByTestId("failure-table");
    const headers = within(table)
      .getAllByRole("columnheader")
      .map((th) => th.textContent);
    // Kinds ranked by their total over the table's rows: usage limit 4, rate limit 2, then 1 each.
    expect(headers).toEqual([
      "Developer",
      "Model",
      "Usage limit reached",
      "Rate limited",
      "No error kind",
      "brandNewKind (new kind)",
      "Total",
    ]);
    expect(screen.getByTestId("failure-col-usageLimitExceeded")).toHaveAttribute(
      "title",
      "usageLimitExceeded · Limits & budgets",
    );
    const alice = screen.getByTestId("failure-row-alice-gpt-5.5");
    const cells = (row: HTMLElement) =>
      Object.fromEntries(
        [...row.querySelectorAll("td[data-kind]")].map((td) => [
          td.getAttribute("data-kind"),
          td.textContent,
        ]),
      );
    expect(cells(alice)).toEqual({
      usageLimitExceeded: "4",
      rateLimitExceeded: "—",
      "(none)": "—",
      brandNewKind: "1",
      total: "5",
    });
    expect(cells(screen.getByTestId("failure-row-bob-gpt-5.5-mini"))).toEqual({
      usageLimitExceeded: "—",
      rateLimitExceeded: "2",
      "(none)": "1",
      brandNewKind: "—",
      total: "3",
    });
    // Most failures first.
    const order = within(table)
      .getAllByRole("row")
      .slice(1)
      .map((tr) => tr.getAttribute("data-testid"));
    expect(order).toEqual(["failure-row-alice-gpt-5.5", "failure-row-bob-gpt-5.5-mini"]);
    expect(screen.getByTestId("failure-chart")).toBeInTheDocument();
  }, 15_000);

  it("does ask for failures with the page's window, bucket and filters", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    const fetchStub = setup();
    renderApp("/usage?range=24h&team=payments&model=gpt-5.5");
    await screen.findByTestId("failure-reasons");
    await waitFor(() => expect(fetchStub.callsTo("/api/v1/usage/failures")).toHaveLength(2));
    const params = fetchStub
      .callsTo("/api/v1/usage/failures")
      .map((call) => Object.fromEntries(call.url.searchParams));
    expect(params.map((p) => p.groupBy).sort()).toEqual(["hour", "target,model"]);
    for (const p of params) {
      expect(p).toMatchObject({ team: "payments", model: "gpt-5.5", to: new Date(NOW).toISOString() });
      expect(p.from).toBe("2026-11-20T15:00:00.000Z");
      expect(p.target).toBeUndefined();
    }
  });

  it("does export the developer × model table with one exact column per kind", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    setup();
    const names: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    renderApp("/usage");
    fireEvent.click(await screen.findByTestId("export-failures-csv"));
    expect(names).toEqual(["codex-usage_2026-11-15_2026-11-21_failures-by-developer-model.csv"]);
    const blob = vi.mocked(URL.createObjectURL).mock.calls.at(-1)?.[0] as Blob;
    const lines = (await blob.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "developer,model,usageLimitExceeded,rateLimitExceeded,(none),brandNewKind,failedTurns",
    );
    expect(lines.slice(1)).toEqual(["alice,gpt-5.5,4,0,0,1,5", "bob,gpt-5.5-mini,0,2,1,0,3"]);
  });

  it("does say so when no turn failed in the window", async () => {
    setup({});
    renderApp("/usage");
    const panel = await screen.findByTestId("failure-reasons");
    expect(await within(panel).findByText("No failed turns in this window")).toBeInTheDocument();
    expect(within(panel).queryByTestId("failure-table")).toBeNull();
  });

  it("does show a loading state while failure reasons are being fetched", async () => {
    stubFetch({
      "GET /api/v1/usage": { body: usageResponse(USAGE_BY_MODEL, []) },
      "GET /api/v1/usage/failures": PENDING,
      "GET /api/v1/alerts": { body: [] },
    });
    renderApp("/usage");
    expect(await screen.findByRole("status", { name: "Loading failure reasons…" })).toBeInTheDocument();
  });

  it("does show the collector's error when failures cannot be loaded", async () => {
    setup({ day: apiError(500, "internal", "database unavailable") });
    renderApp("/usage");
    const panel = await screen.findByTestId("failure-reasons");
    await waitFor(() => expect(within(panel).getByRole("button", { name: /retry/i })).toBeInTheDocument());
    expect(screen.getByTestId("usage-total-tokens")).toBeInTheDocument();
  });
});
