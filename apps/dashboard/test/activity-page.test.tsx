/** The Activity page (issue 15): /api/v1/activity drawn as KPIs, the waiting sentence, charts and tables. */
import type { ActivityCounters, ActivityResponse, ActivityRow } from "@codex-fleet/protocol/activity";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { NOW } from "./fixtures.ts";
import { renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;

function counters(overrides: Partial<ActivityCounters> = {}): ActivityCounters {
  return {
    turnsStarted: 0,
    turnsCompleted: 0,
    turnsFailed: 0,
    turnsInterrupted: 0,
    turnDurationP50Ms: null,
    turnDurationP90Ms: null,
    workingMs: 0,
    waitingOnApprovalMs: 0,
    waitingOnInputMs: 0,
    systemErrorMs: 0,
    approvalWaits: 0,
    inputWaits: 0,
    answeredWaits: 0,
    timeToAnswerP50Ms: null,
    timeToAnswerP90Ms: null,
    activeThreadsAvg: 0,
    activeThreadsPeak: null,
    ...overrides,
  };
}

function response(
  rows: ActivityRow[],
  groupBy: ActivityResponse["groupBy"],
  totals: ActivityCounters = counters(),
): ActivityResponse {
  return {
    from: "2026-11-15T00:00:00.000Z",
    to: new Date(NOW).toISOString(),
    groupBy,
    rows,
    totals,
    failureKinds: [],
  };
}

const WEEK_TOTALS = counters({
  turnsStarted: 130,
  turnsCompleted: 112,
  turnsFailed: 9,
  turnsInterrupted: 7,
  turnDurationP50Ms: 95_000,
  turnDurationP90Ms: 14 * MIN,
  workingMs: 60 * HOUR,
  waitingOnApprovalMs: 14 * HOUR,
  waitingOnInputMs: 2 * HOUR + 5 * MIN,
  approvalWaits: 40,
  inputWaits: 6,
  answeredWaits: 41,
  timeToAnswerP50Ms: 6 * MIN,
  timeToAnswerP90Ms: 48 * MIN,
  activeThreadsAvg: 2.4,
  activeThreadsPeak: 9,
});
const BY_DAY: ActivityRow[] = [
  {
    day: "2026-11-20T00:00:00.000Z",
    ...counters({ turnsCompleted: 60, turnsFailed: 4, activeThreadsAvg: 2 }),
  },
  {
    day: "2026-11-21T00:00:00.000Z",
    ...counters({ turnsCompleted: 52, turnsFailed: 5, activeThreadsAvg: 3 }),
  },
];
const BY_TARGET: ActivityRow[] = [
  { target: "bob", ...counters({ waitingOnApprovalMs: 2 * HOUR, timeToAnswerP50Ms: 3 * MIN }) },
  { target: "carol", ...counters() },
  {
    target: "alice",
    ...counters({
      waitingOnApprovalMs: 12 * HOUR,
      waitingOnInputMs: 2 * HOUR + 5 * MIN,
      timeToAnswerP50Ms: 9 * MIN,
    }),
  },
];
const BY_TEAM: ActivityRow[] = [
  { team: "payments", ...counters({ waitingOnApprovalMs: 14 * HOUR }) },
  { team: "platform", ...counters({ waitingOnInputMs: 2 * HOUR + 5 * MIN }) },
];

const WEEK: Record<string, Answer> = {
  day: { body: response(BY_DAY, ["day"], WEEK_TOTALS) },
  target: { body: response(BY_TARGET, ["target"], WEEK_TOTALS) },
  team: { body: response(BY_TEAM, ["team"], WEEK_TOTALS) },
};

/** Answers /api/v1/activity by its groupBy (an empty window otherwise); failures are empty. */
function setup(byGroup: Record<string, Answer> = WEEK) {
  return stubFetch({
    "GET /api/v1/activity": (url) =>
      byGroup[url.searchParams.get("groupBy") ?? ""] ?? { body: response([], []) },
    "GET /api/v1/usage/failures": (url) => ({
      body: {
        from: "2026-11-15T00:00:00.000Z",
        to: new Date(NOW).toISOString(),
        groupBy: (url.searchParams.get("groupBy") ?? "day").split(","),
        rows: [],
        kinds: [],
        failedTurns: 0,
      },
    }),
    "GET /api/v1/alerts": { body: [] },
  });
}

describe("Activity page", () => {
  it("does show a loading state while activity is being fetched", async () => {
    stubFetch({ "GET /api/v1/activity": PENDING, "GET /api/v1/alerts": { body: [] } });
    renderApp("/activity");
    // The first test pays the lazy page chunk's cold import.
    expect(
      await screen.findByRole("status", { name: "Loading activity…" }, { timeout: 4000 }),
    ).toBeInTheDocument();
  });

  it("does show turns, waiting on people with its sentence, active threads and turn duration", async () => {
    setup();
    renderApp("/activity");
    const turns = await screen.findByTestId("activity-turns");
    expect(turns).toHaveAttribute("data-value", "128");
    expect(turns.parentElement).toHaveTextContent("112 completed · 9 failed · 7 interrupted");
    const waiting = screen.getByTestId("activity-waiting");
    expect(waiting).toHaveAttribute("data-value", String(16 * HOUR + 5 * MIN));
    expect(waiting).toHaveTextContent("16 h");
    expect(waiting.parentElement).toHaveTextContent("14 h approvals · 2 h 5 min questions");
    expect(screen.getByTestId("activity-answer-p50")).toHaveTextContent("6 min");
    expect(screen.getByTestId("activity-answer-p50").parentElement).toHaveTextContent("p90 48 min");
    expect(screen.getByTestId("activity-active-avg")).toHaveTextContent("2.4");
    expect(screen.getByTestId("activity-active-avg").parentElement).toHaveTextContent("peak 9");
    expect(screen.getByTestId("activity-duration-p50")).toHaveTextContent("2 min");
    expect(screen.getByTestId("activity-duration-p50").parentElement).toHaveTextContent("p90 14 min");
    expect(screen.getByTestId("activity-sentence")).toHaveTextContent(
      "Agents waited 14 h on approvals and 2 h 5 min on questions this week; median answer 6 min.",
    );
    expect(screen.getByTestId("activity-note")).toHaveTextContent(
      "Observed time only (not while the collector was disconnected); percentiles are estimated from histogram buckets.",
    );
  });

  it("does rank developers and teams by waiting time, with time to answer", async () => {
    setup();
    renderApp("/activity");
    const table = await screen.findByTestId("waiting-table-target");
    const names = within(table)
      .getAllByRole("row")
      .slice(1)
      .map((row) => row.querySelector("td")?.textContent);
    expect(names).toEqual(["alice", "bob", "carol"]);
    const alice = screen.getByTestId("waiting-target-alice");
    expect(alice).toHaveTextContent("14 h");
    expect(alice).toHaveTextContent("9 min");
    expect(screen.getByTestId("waiting-target-carol")).toHaveTextContent("carol——");
    const teams = await screen.findByTestId("waiting-table-team");
    expect(within(teams).getAllByRole("row")[1]).toHaveTextContent("payments");
  });

  it("does keep range and filters in the URL and ask the API for them", async () => {
    const fetchStub = setup({
      hour: {
        body: response(
          [{ hour: "2026-11-21T13:00:00.000Z", ...counters({ turnsCompleted: 3 }) }],
          ["hour"],
          counters({ turnsStarted: 3, turnsCompleted: 3 }),
        ),
      },
    });
    renderApp("/activity?range=24h&team=payments");
    await screen.findByTestId("activity-turns");
    const hourly = fetchStub
      .callsTo("/api/v1/activity")
      .find((call) => call.url.searchParams.get("groupBy") === "hour");
    expect(hourly?.url.searchParams.get("team")).toBe("payments");
    expect(hourly?.url.searchParams.get("from")).toMatch(/T\d\d:00:00.000Z$/);
    expect((screen.getByLabelText("Team") as HTMLSelectElement).value).toBe("payments");

    fireEvent.click(
      within(screen.getByRole("group", { name: "Range" })).getByRole("button", { name: "30d" }),
    );
    expect(new URLSearchParams(window.location.search).get("range")).toBe("30d");
    expect(new URLSearchParams(window.location.search).get("team")).toBe("payments");
    await waitFor(() => {
      const daily = fetchStub
        .callsTo("/api/v1/activity")
        .find((call) => call.url.searchParams.get("groupBy") === "day");
      expect(daily?.url.searchParams.get("team")).toBe("payments");
    });
  });

  it("does link the exports to the API's CSV and JSON of the same query", async () => {
    const fetchStub = setup();
    renderApp("/activity?model=gpt-5.5");
    await screen.findByTestId("activity-turns");
    const daily = fetchStub
      .callsTo("/api/v1/activity")
      .find((call) => call.url.searchParams.get("groupBy") === "day");
    if (!daily) throw new Error("the page asked for no daily activity");
    for (const format of ["csv", "json"]) {
      const link = new URL(
        screen.getByTestId(`export-activity-${format}`).getAttribute("href") ?? "",
        "http://dashboard.test",
      );
      expect(link.pathname).toBe("/api/v1/activity");
      const expected = new URLSearchParams(daily.url.searchParams);
      expected.set("format", format);
      expect(Object.fromEntries(link.searchParams)).toEqual(Object.fromEntries(expected));
    }
    const byTarget = new URL(
      screen.getByTestId("export-waiting-csv").getAttribute("href") ?? "",
      "http://dashboard.test",
    );
    expect(byTarget.searchParams.get("groupBy")).toBe("target");
    expect(byTarget.searchParams.get("model")).toBe("gpt-5.5");
    expect(byTarget.searchParams.get("format")).toBe("csv");
  });

  it("does say there is no activity when the window is empty, and clear the filters", async () => {
    setup({});
    renderApp("/activity?range=30d&repo=acme/api");
    const empty = await screen.findByTestId("activity-empty");
    expect(empty).toHaveTextContent("No activity in this window");
    fireEvent.click(within(empty).getByRole("button", { name: "Clear filters" }));
    expect(window.location.search).toBe("?range=30d");
  });

  it("does say no agent waited when there were turns but no waits", async () => {
    setup({ day: { body: response(BY_DAY, ["day"], counters({ turnsStarted: 5, turnsCompleted: 5 })) } });
    renderApp("/activity");
    expect(await screen.findByTestId("activity-sentence")).toHaveTextContent(
      "No agent waited on a person in this window.",
    );
    expect(screen.getByTestId("activity-waiting")).toHaveAttribute("data-value", "0");
  });

  it("does show the API's error with a retry that reloads", async () => {
    const byGroup: Record<string, Answer> = {
      ...WEEK,
      day: apiError(400, "bad_request", "from must be before to"),
    };
    setup(byGroup);
    renderApp("/activity");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load activity");
    byGroup.day = WEEK.day as Answer;
    fireEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("activity-turns")).toHaveAttribute("data-value", "128");
  });

  it("does show Activity in the navigation", async () => {
    setup();
    renderApp("/activity");
    expect(screen.getByRole("link", { name: "Activity" })).toHaveAttribute("aria-current", "page");
  });
});
