/**
 * The Plan limits page (issue 14): GET /api/v1/limits drawn as one row per developer and limit,
 * most urgent first, with bars, forecasts, reset times, badges, the unavailable developers, and
 * live `limits` messages; the history chart; the compact windows on the Fleet and thread pages.
 */
import type { LimitRow } from "@codex-fleet/protocol/limits";
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { weekdayTime } from "../src/lib/plan-limits.ts";
import { FakeWebSocket } from "./fake-websocket.ts";
import {
  APPROVAL_DETAIL,
  LIMIT_ROWS,
  LIMITS_RESPONSE,
  limitRow,
  NOW,
  snapshotMessage,
  THREAD_IDS,
} from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

function setup(limits: Answer = { body: LIMITS_RESPONSE }, history: Answer = { body: undefined }) {
  vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
  return stubFetch({
    "GET /api/v1/limits": limits,
    "GET /api/v1/limits/history": history,
    "GET /api/v1/alerts": { body: [] },
    "GET /api/v1/activity": PENDING,
    "GET /api/v1/targets": PENDING,
    "GET /api/v1/threads": PENDING,
  });
}

const rowIds = () =>
  within(screen.getByTestId("limits-table"))
    .getAllByRole("row")
    .slice(1)
    .map((row) => row.getAttribute("data-testid"));

describe("Plan limits page", () => {
  it("does show every developer's windows most urgent first, with forecasts, resets, credits and badges", async () => {
    setup();
    renderApp("/limits");
    deliverSnapshot();
    await screen.findByTestId("limits-table");
    expect(rowIds()).toEqual([
      "limit-row-bob-codex",
      "limit-row-alice-codex",
      "limit-row-carol-codex",
      "limit-row-erin-codex",
    ]);
    expect(screen.getByTestId("limits-count")).toHaveTextContent("4 developers · 4 limits");

    const bob = screen.getByTestId("limit-row-bob-codex");
    expect(bob).toHaveClass("row-err");
    expect(screen.getByTestId("limit-bob-codex-primary-forecast")).toHaveTextContent(
      `exhausted until ${weekdayTime(NOW + 60 * MIN)}`,
    );
    expect(screen.getByTestId("limit-reached-bob-codex")).toHaveTextContent("limit reached");
    expect(screen.getByTestId("limit-reached-bob-codex")).toHaveAttribute(
      "title",
      "codex reports: workspace_member_credits_depleted",
    );
    expect(bob).toHaveTextContent("12.5 left");
    expect(bob).toHaveTextContent("as of 5m ago");

    const alice = screen.getByTestId("limit-row-alice-codex");
    expect(alice).toHaveClass("row-warn");
    expect(screen.getByTestId("limit-alice-codex-primary-used")).toHaveTextContent("82 %");
    const forecast = screen.getByTestId("limit-alice-codex-primary-forecast");
    expect(forecast).toHaveTextContent(`exhausts ~${weekdayTime(NOW + 40 * MIN)}`);
    expect(forecast).toHaveClass("warn");
    expect(forecast).toHaveAttribute("title", expect.stringContaining("Burn rate 27 % an hour"));
    expect(screen.getByTestId("limit-alice-codex-primary-reset")).toHaveTextContent(
      `resets ${weekdayTime(NOW + 180 * MIN)}, in 3h`,
    );
    expect(screen.getByTestId("limit-alice-codex-secondary-forecast")).toHaveTextContent("on track");
    expect(screen.getByTestId("limit-alice-codex-primary-bar")).toHaveAttribute("style", "width: 82%;");
    expect(screen.getByTestId("limit-alice-codex-primary-bar")).toHaveClass("warn");
    expect(screen.getByTestId("limit-bob-codex-primary-bar")).toHaveClass("err");

    expect(screen.getByTestId("limit-row-carol-codex")).toHaveTextContent("pro plan");
    expect(screen.getByTestId("limit-row-carol-codex")).toHaveTextContent("not reported");
    // erin's window reset since she last reported: her figure is stale, not "on track".
    expect(screen.getByTestId("limit-erin-codex-primary")).toHaveAttribute("data-forecast", "reset");
    expect(screen.getByTestId("limit-erin-codex-primary-reset")).toHaveTextContent("figure stale");

    expect(screen.getByTestId("limits-unavailable-dave")).toHaveTextContent(
      "dave platform codex account authentication required to read rate limits",
    );
    expect(screen.getByTestId("limits-unavailable")).toHaveTextContent(
      "signed in with an API key: plan limits are not available",
    );
    expect(screen.getByTestId("export-limits-csv")).toHaveAttribute("href", "/api/v1/limits?format=csv");
  });

  it("does filter by team and by a developer search, and clear the filters", async () => {
    setup();
    renderApp("/limits");
    deliverSnapshot();
    await screen.findByTestId("limits-table");
    fireEvent.change(screen.getByRole("combobox", { name: "Team" }), { target: { value: "payments" } });
    expect(rowIds()).toEqual(["limit-row-bob-codex", "limit-row-alice-codex"]);
    expect(screen.queryByTestId("limits-unavailable")).toBeNull();
    expect(screen.getByTestId("export-limits-csv")).toHaveAttribute(
      "href",
      "/api/v1/limits?team=payments&format=csv",
    );
    fireEvent.change(screen.getByRole("searchbox", { name: "Find a developer" }), {
      target: { value: "ALI" },
    });
    expect(rowIds()).toEqual(["limit-row-alice-codex"]);
    fireEvent.change(screen.getByRole("searchbox", { name: "Find a developer" }), {
      target: { value: "zed" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(rowIds()).toHaveLength(4);
  });

  it("does move and insert rows when live limits messages arrive", async () => {
    setup();
    renderApp("/limits");
    deliverSnapshot();
    await screen.findByTestId("limits-table");
    const carolNow: LimitRow = limitRow({
      target: "carol",
      team: "platform",
      primary: {
        usedPercent: 100,
        windowDurationMins: 300,
        resetsAt: iso(NOW + 90 * MIN),
        observedAt: iso(NOW),
      },
      observedAt: iso(NOW),
      rateLimitReachedType: "workspace_member_usage_limit_reached",
      forecast: {
        primary: { status: "exhausted", exhaustsAt: null, burnPctPerHour: null, method: null },
        secondary: null,
      },
    });
    const frank = limitRow({ target: "frank", team: "data", observedAt: iso(NOW) });
    act(() => {
      FakeWebSocket.latest().receive({ type: "limits", row: carolNow });
      FakeWebSocket.latest().receive({ type: "limits", row: frank });
    });
    // carol and bob are both exhausted at 100 %: by name.
    expect(rowIds()).toEqual([
      "limit-row-bob-codex",
      "limit-row-carol-codex",
      "limit-row-alice-codex",
      "limit-row-frank-codex",
      "limit-row-erin-codex",
    ]);
    expect(screen.getByTestId("limit-carol-codex-primary-used")).toHaveTextContent("100 %");
    expect(screen.getByTestId("limit-reached-carol-codex")).toBeInTheDocument();
  });

  it("does read the limits again after the live feed reconnects", async () => {
    const stub = setup();
    renderApp("/limits");
    deliverSnapshot();
    await screen.findByTestId("limits-table");
    expect(stub.callsTo("/api/v1/limits")).toHaveLength(1);
    act(() => FakeWebSocket.latest().drop());
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2000);
    });
    deliverSnapshot(snapshotMessage({ serverTimeMs: NOW + 2000 }));
    await waitFor(() => expect(stub.callsTo("/api/v1/limits")).toHaveLength(2));
  });

  it("does explain where figures come from when nobody reports any", async () => {
    setup({ body: { rows: [], unavailable: [] } });
    renderApp("/limits");
    deliverSnapshot();
    const empty = await screen.findByTestId("limits-empty");
    expect(empty).toHaveTextContent("No plan limits reported yet");
    expect(empty).toHaveTextContent("an API-key sign-in has none");
  });

  it("does say so when the collector has no limits API, and offer a retry when it fails", async () => {
    setup(apiError(404, "NOT_FOUND", "no route GET /api/v1/limits"));
    renderApp("/limits");
    deliverSnapshot();
    expect(await screen.findByText("This collector does not serve plan limits")).toBeInTheDocument();
  });

  it("does offer a retry when the limits cannot be read", async () => {
    let fail = true;
    setup(() => (fail ? apiError(500, "INTERNAL", "internal error") : { body: LIMITS_RESPONSE }));
    renderApp("/limits");
    deliverSnapshot();
    expect(await screen.findByText("Could not load plan limits")).toBeInTheDocument();
    fail = false;
    fireEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("limits-table")).toBeInTheDocument();
  });

  it("does open the chart of a row's window, read its history and follow the selection", async () => {
    const points = [
      { at: iso(NOW - 60 * MIN), usedPercent: 60, resetsAt: iso(NOW + 180 * MIN) },
      { at: iso(NOW - 2 * MIN), usedPercent: 82, resetsAt: iso(NOW + 180 * MIN) },
    ];
    const stub = setup(undefined, (url) => ({
      body: {
        target: url.searchParams.get("target"),
        limitId: url.searchParams.get("limitId"),
        window: url.searchParams.get("window"),
        points: url.searchParams.get("window") === "primary" ? points : [],
      },
    }));
    renderApp("/limits");
    deliverSnapshot();
    await screen.findByTestId("limits-table");
    fireEvent.click(screen.getByRole("button", { name: "Chart alice's 5-hour window" }));
    expect(window.location.search).toBe("?chart=alice");
    const card = await screen.findByTestId("limit-history");
    expect(card).toHaveTextContent("alice: 5-hour window over time");
    await waitFor(() => expect(stub.callsTo("/api/v1/limits/history")).toHaveLength(1));
    const first = stub.callsTo("/api/v1/limits/history")[0]?.url.searchParams;
    expect([first?.get("target"), first?.get("limitId"), first?.get("window")]).toEqual([
      "alice",
      "codex",
      "primary",
    ]);
    expect(Date.parse(first?.get("to") ?? "") - Date.parse(first?.get("from") ?? "")).toBe(24 * 60 * MIN);
    expect(screen.getByRole("button", { name: "Chart alice's 5-hour window" })).toHaveAttribute(
      "aria-pressed",
      "true",
    );

    fireEvent.change(within(card).getByRole("combobox", { name: "Window" }), {
      target: { value: "secondary" },
    });
    expect(await within(card).findByText("No reports in this range")).toBeInTheDocument();
    const second = stub.callsTo("/api/v1/limits/history").at(-1)?.url.searchParams;
    expect(second?.get("window")).toBe("secondary");
    // A weekly window defaults to a week of history.
    expect(Date.parse(second?.get("to") ?? "") - Date.parse(second?.get("from") ?? "")).toBe(
      7 * 24 * 60 * MIN,
    );

    fireEvent.click(within(card).getByRole("button", { name: "Close" }));
    expect(screen.queryByTestId("limit-history")).toBeNull();
    expect(window.location.search).toBe("");
  });
});

describe("Plan windows on developer rows", () => {
  it("does show each developer's windows in the Fleet page's target rows and follow live changes", async () => {
    setup();
    renderApp("/");
    deliverSnapshot();
    const alice = await screen.findByTestId("plan-windows-alice");
    expect(alice).toHaveTextContent("5h 82 % · wk 40 %");
    expect(alice).toHaveAttribute("href", "/limits?q=alice");
    expect(screen.getByTestId("plan-window-alice-primary")).toHaveClass("warn");
    expect(screen.getByTestId("plan-window-alice-primary")).toHaveAttribute(
      "title",
      expect.stringContaining(`exhausts ~${weekdayTime(NOW + 40 * MIN)}`),
    );
    expect(screen.getByTestId("plan-windows-bob")).toHaveTextContent("limit reached");
    expect(screen.getByTestId("plan-window-bob-primary")).toHaveClass("err");
    // dave reports none: nothing is drawn for him.
    expect(screen.queryByTestId("plan-windows-dave")).toBeNull();

    act(() => {
      FakeWebSocket.latest().receive({
        type: "limits",
        row: {
          ...(LIMIT_ROWS[1] as LimitRow),
          primary: { ...(LIMIT_ROWS[1]?.primary as NonNullable<LimitRow["primary"]>), usedPercent: 91 },
          observedAt: iso(NOW),
        },
      });
    });
    expect(screen.getByTestId("plan-windows-alice")).toHaveTextContent("5h 91 % · wk 40 %");
  });

  it("does show the thread's developer's windows on the thread page", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    stubFetch({
      [`GET /api/v1/threads/${THREAD_IDS.approval}`]: { body: APPROVAL_DETAIL },
      "GET /api/v1/alerts": { body: [] },
      "GET /api/v1/limits": { body: LIMITS_RESPONSE },
    });
    renderApp(`/threads/${THREAD_IDS.approval}`);
    deliverSnapshot();
    expect(APPROVAL_DETAIL.target).toBe("alice");
    const cell = await screen.findByTestId("thread-plan-limits");
    await waitFor(() => expect(cell).toHaveTextContent("5h 82 % · wk 40 %"));
    expect(within(cell).getByRole("link", { name: "Plan limits of alice" })).toBeInTheDocument();
  });
});
