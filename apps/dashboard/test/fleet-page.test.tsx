import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "./fake-websocket.ts";
import { NOW, snapshotMessage, TARGETS, THREAD_IDS, THREADS, thread } from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { apiError, PENDING, stubFetch } from "./stub-fetch.ts";

const quietRest = () =>
  stubFetch({
    "GET /api/v1/targets": PENDING,
    "GET /api/v1/threads": PENDING,
    "GET /api/v1/alerts": { body: [] },
  });

describe("Fleet page", () => {
  it("does show a loading state when the live feed has not answered yet", () => {
    quietRest();
    renderApp("/");
    expect(screen.getByRole("status")).toHaveTextContent("Connecting to the live feed…");
  });

  it("does show counts by status, targets with their state and every thread when the snapshot arrives", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot();
    const counts = {
      "fleet-count-active": "1",
      "fleet-count-waiting-approval": "1",
      "fleet-count-waiting-input": "1",
      "fleet-count-system-error": "1",
      "fleet-count-idle": "2",
      "fleet-count-targets-down": "2",
    };
    for (const [testId, value] of Object.entries(counts))
      expect(screen.getByTestId(testId)).toHaveTextContent(value);
    expect(screen.getByTestId("target-state-alice")).toHaveTextContent("Connected");
    expect(screen.getByTestId("target-state-carol")).toHaveTextContent("Retrying");
    expect(screen.getByTestId("target-reason-carol")).toHaveTextContent(
      "Unauthorized (401) — HTTP 401: invalid websocket bearer token",
    );
    expect(screen.getByTestId("target-reason-dave")).toHaveTextContent("Refused");
    for (const item of THREADS.filter((candidate) => candidate.status !== "notLoaded")) {
      expect(screen.getByTestId(`thread-row-${item.id}`)).toBeInTheDocument();
    }
    expect(screen.queryByTestId(`thread-row-${THREAD_IDS.unloaded}`)).toBeNull();
    expect(screen.getByTestId("live-state")).toHaveAttribute("data-state", "open");
    expect(screen.getByTestId("header-alert-count")).toHaveTextContent("2");
  });

  it("does say how many threads it shows when the collector capped the live snapshot", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot(snapshotMessage({ threadsTotal: 50_000 }));
    expect(screen.getByTestId("fleet-truncated-note")).toHaveTextContent(
      `Showing ${THREADS.length} of 50,000 threads`,
    );
  });

  it("does not show the capped-snapshot note when the snapshot holds every thread", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot(snapshotMessage({ threadsTotal: THREADS.length }));
    expect(screen.queryByTestId("fleet-truncated-note")).toBeNull();
  });

  it("does make approval and input waits stand out and list them first under Needs attention", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot();
    expect(screen.getByTestId(`thread-status-${THREAD_IDS.approval}`)).toHaveTextContent(
      "Waiting on approval",
    );
    expect(screen.getByTestId(`thread-row-${THREAD_IDS.approval}`)).toHaveClass("row-warn");
    expect(screen.getByTestId(`thread-row-${THREAD_IDS.input}`)).toHaveClass("row-input");
    expect(screen.getByTestId(`thread-row-${THREAD_IDS.error}`)).toHaveClass("row-err");
    const attention = within(screen.getByTestId("fleet-attention"));
    const items = attention.getAllByRole("listitem");
    expect(items.map((item) => item.textContent)).toEqual([
      expect.stringContaining("Add partial refunds"),
      expect.stringContaining("Design the retry policy"),
      expect.stringContaining("Migrate to pgx v5"),
    ]);
    expect(items[0]).toHaveTextContent("npm publish --access public");
    expect(screen.getByTestId(`thread-alert-${THREAD_IDS.approval}`)).toHaveTextContent("warning");
  });

  it("does show the last error's codexErrorInfo on a thread in systemError", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot();
    const chip = within(screen.getByTestId(`thread-row-${THREAD_IDS.error}`)).getByText(
      "internalServerError",
    );
    expect(chip).toHaveAttribute("title", expect.stringContaining("high demand"));
  });

  it("does tick time in status and turn age every second", () => {
    vi.useFakeTimers({ now: NOW });
    quietRest();
    renderApp("/");
    deliverSnapshot();
    expect(screen.getByTestId(`thread-time-in-status-${THREAD_IDS.approval}`)).toHaveTextContent("7m 30s");
    expect(screen.getByTestId(`thread-turn-age-${THREAD_IDS.working}`)).toHaveTextContent("2m");
    act(() => {
      vi.advanceTimersByTime(2000);
    });
    expect(screen.getByTestId(`thread-time-in-status-${THREAD_IDS.approval}`)).toHaveTextContent("7m 32s");
    expect(screen.getByTestId(`thread-turn-age-${THREAD_IDS.working}`)).toHaveTextContent("2m 2s");
  });

  it("does correct ages by the server clock when the browser clock is off", () => {
    vi.useFakeTimers({ now: NOW - 60_000 });
    quietRest();
    renderApp("/");
    deliverSnapshot(snapshotMessage({ serverTimeMs: NOW }));
    act(() => {
      vi.advanceTimersByTime(1000);
    });
    expect(screen.getByTestId(`thread-time-in-status-${THREAD_IDS.approval}`)).toHaveTextContent("7m 31s");
  });

  it("does apply live thread and target changes to rows and counts", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot();
    act(() => {
      const socket = FakeWebSocket.latest();
      socket.receive({
        type: "thread",
        thread: thread({
          id: THREAD_IDS.approval,
          name: "Add partial refunds",
          status: "idle",
          statusSince: new Date(NOW).toISOString(),
        }),
      });
      socket.receive({
        type: "target",
        target: { ...TARGETS[2], state: "open", reason: null, lastError: null },
      });
    });
    expect(screen.getByTestId(`thread-status-${THREAD_IDS.approval}`)).toHaveTextContent("Idle");
    expect(screen.getByTestId("fleet-count-waiting-approval")).toHaveTextContent("0");
    expect(screen.getByTestId("fleet-count-idle")).toHaveTextContent("3");
    expect(screen.getByTestId("fleet-count-targets-down")).toHaveTextContent("1");
    expect(screen.getByTestId("target-state-carol")).toHaveTextContent("Connected");
  });

  it("does filter the table to one status when its count tile is clicked", () => {
    quietRest();
    renderApp("/");
    deliverSnapshot();
    fireEvent.click(screen.getByTestId("fleet-count-waiting-approval"));
    expect(window.location.search).toBe("?status=waitingOnApproval");
    expect(screen.getByTestId(`thread-row-${THREAD_IDS.approval}`)).toBeInTheDocument();
    expect(screen.queryByTestId(`thread-row-${THREAD_IDS.working}`)).toBeNull();
    expect(screen.queryByTestId("fleet-target-carol")).toBeNull();
  });

  it("does tell a new user how to add a target when the collector has none", () => {
    stubFetch({ "GET /api/v1/alerts": { body: [] } });
    renderApp("/");
    deliverSnapshot(snapshotMessage({ targets: [], threads: [], alerts: [] }));
    const empty = screen.getByTestId("fleet-empty");
    expect(empty).toHaveTextContent("No targets yet");
    expect(empty).toHaveTextContent("targets:");
    expect(empty).toHaveTextContent("codex app-server --listen ws://127.0.0.1:4500");
    expect(empty).toHaveTextContent("--ws-auth capability-token --ws-token-file ~/.codex/ws-token");
  });

  it("does show an error with retry when the feed and REST both fail, then recover on retry", async () => {
    const routes: Record<string, Parameters<typeof stubFetch>[0][string]> = {
      "GET /api/v1/targets": apiError(503, "unavailable", "database is starting"),
      "GET /api/v1/threads": { body: [] },
      "GET /api/v1/alerts": { body: [] },
    };
    stubFetch(routes);
    renderApp("/");
    act(() => FakeWebSocket.latest().drop());
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not reach the collector");
    expect(alert).toHaveTextContent("database is starting");

    routes["GET /api/v1/targets"] = { body: TARGETS };
    routes["GET /api/v1/threads"] = { body: THREADS };
    fireEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("fleet-stale-banner")).toHaveTextContent("Live feed disconnected");
    expect(screen.getByTestId("fleet-count-waiting-approval")).toHaveTextContent("1");
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it("does show each developer's waiting time today from /api/v1/activity, and a dash when none", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    const activity = (target: string, approvalMs: number, inputMs: number) => ({
      target,
      turnsStarted: 1,
      turnsCompleted: 1,
      turnsFailed: 0,
      turnsInterrupted: 0,
      turnDurationP50Ms: null,
      turnDurationP90Ms: null,
      workingMs: 60_000,
      waitingOnApprovalMs: approvalMs,
      waitingOnInputMs: inputMs,
      systemErrorMs: 0,
      approvalWaits: 1,
      inputWaits: 1,
      answeredWaits: 2,
      timeToAnswerP50Ms: null,
      timeToAnswerP90Ms: null,
      activeThreadsAvg: 0,
      activeThreadsPeak: null,
    });
    const { target: _, ...totals } = activity("", 0, 0);
    const stub = stubFetch({
      "GET /api/v1/targets": PENDING,
      "GET /api/v1/threads": PENDING,
      "GET /api/v1/alerts": { body: [] },
      "GET /api/v1/activity": {
        body: {
          from: "2026-11-21T00:00:00.000Z",
          to: new Date(NOW).toISOString(),
          groupBy: ["target"],
          rows: [activity("alice", 9 * 60_000, 3 * 60_000), activity("bob", 0, 0)],
          totals,
          failureKinds: [],
        },
      },
    });
    renderApp("/");
    deliverSnapshot();
    const alice = screen.getByTestId("target-waited-alice");
    await waitFor(() => expect(alice).toHaveAttribute("data-value", String(12 * 60_000)));
    expect(alice).toHaveTextContent("waited today 12 min");
    expect(screen.getByTestId("target-waited-bob")).toHaveTextContent("waited today —");
    expect(screen.getByTestId("target-waited-carol")).toHaveTextContent("waited today —");
    const [call, ...more] = stub.callsTo("/api/v1/activity");
    expect(more).toHaveLength(0);
    expect(call?.url.searchParams.get("groupBy")).toBe("target");
    expect(call?.url.searchParams.get("from")).toBe("2026-11-21T00:00:00.000Z");
    expect(call?.url.searchParams.get("to")).toBe(new Date(NOW).toISOString());
  });
});
