import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "./fake-websocket.ts";
import { APPROVAL_DETAIL, NOW, THREAD_IDS, thread, UNPRICED_DETAIL } from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { type Answer, apiError, PENDING, stubFetch } from "./stub-fetch.ts";

const approvalPath = `/api/v1/threads/${THREAD_IDS.approval}`;

function setup(answer: Answer = { body: APPROVAL_DETAIL }, path = approvalPath) {
  return stubFetch({ [`GET ${path}`]: answer, "GET /api/v1/alerts": { body: [] } });
}

describe("Thread page", () => {
  it("does show a loading state while the thread is being fetched", async () => {
    setup(PENDING);
    renderApp(`/threads/${THREAD_IDS.approval}`);
    expect(await screen.findByText("Loading thread…")).toBeInTheDocument();
  });

  it("does show status, counted tokens, cost, context pressure and every turn when the detail loads", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    setup();
    renderApp(`/threads/${THREAD_IDS.approval}`);
    expect(await screen.findByTestId(`thread-status-${THREAD_IDS.approval}`)).toHaveTextContent(
      "Waiting on approval",
    );
    expect(screen.getByRole("heading", { name: "Add partial refunds" })).toBeInTheDocument();
    expect(screen.getByTestId("thread-total-tokens")).toHaveAttribute(
      "data-value",
      String(APPROVAL_DETAIL.counted.totalTokens),
    );
    expect(screen.getByTestId("thread-total-cost")).toHaveTextContent(
      `$${APPROVAL_DETAIL.costUsd.toFixed(2)}`,
    );
    expect(screen.getByTestId("thread-turn-count")).toHaveTextContent("8");
    expect(screen.getByTestId("thread-context-share")).toHaveTextContent("91%");
    expect(screen.getByTestId("thread-pending-request")).toHaveTextContent("npm publish --access public");

    const rows = within(screen.getByTestId("thread-turns")).getAllByRole("row").slice(1);
    expect(rows.map((row) => row.getAttribute("data-testid"))).toEqual(
      [
        "turn-a1-8",
        "turn-a1-7",
        "turn-a1-6",
        "turn-a1-5",
        "turn-a1-4",
        "turn-a1-3",
        "turn-a1-2",
        "turn-a1-1",
      ].map((id) => `turn-row-${id}`),
    );
    expect(screen.getByTestId("turn-row-turn-a1-8")).toHaveTextContent("In progress");
    expect(screen.getByTestId("turn-row-turn-a1-8")).toHaveTextContent("9m");
    expect(screen.getByTestId("turn-row-turn-a1-5")).toHaveTextContent("Interrupted");
    expect(screen.getByTestId("turn-row-turn-a1-4")).toHaveTextContent("3m 2s");
    expect(screen.getByTestId("turn-row-turn-a1-1")).toHaveTextContent("backfill");
    const failed = screen.getByTestId("turn-row-turn-a1-3");
    expect(failed).toHaveClass("row-err");
    expect(within(failed).getByText("internalServerError")).toBeInTheDocument();
    const errors = within(screen.getByTestId("thread-errors")).getAllByRole("row");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toHaveTextContent("#3");
    expect(errors[0]).toHaveTextContent("high demand");
  });

  it("does show cost as unpriced when the thread's model has no price", async () => {
    setup({ body: UNPRICED_DETAIL }, `/api/v1/threads/${THREAD_IDS.carolIdle}`);
    renderApp(`/threads/${THREAD_IDS.carolIdle}`);
    expect(await screen.findByTestId("thread-total-cost")).toHaveTextContent("unpriced");
    expect(screen.getByTestId("turn-cost-turn-c1-1")).toHaveTextContent("unpriced");
    expect(screen.getByTestId("thread-total-cost")).not.toHaveTextContent("$");
  });

  it("does say the thread is unknown when the API answers 404", async () => {
    setup(apiError(404, "not_found", "no such thread"));
    renderApp(`/threads/${THREAD_IDS.approval}`);
    expect(await screen.findByText("Thread not found")).toBeInTheDocument();
  });

  it("does show the error with a retry that reloads when the API fails", async () => {
    const routes: Record<string, Answer> = {
      [`GET ${approvalPath}`]: apiError(500, "internal", "boom"),
      "GET /api/v1/alerts": { body: [] },
    };
    stubFetch(routes);
    renderApp(`/threads/${THREAD_IDS.approval}`);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load this thread");
    routes[`GET ${approvalPath}`] = { body: APPROVAL_DETAIL };
    fireEvent.click(within(alert).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("thread-turn-count")).toHaveTextContent("8");
  });

  it("does show an error naming the field, not crash, when the detail does not match the protocol", async () => {
    setup({ body: { ...APPROVAL_DETAIL, turns: [{ ...APPROVAL_DETAIL.turns[0], status: "paused" }] } });
    renderApp(`/threads/${THREAD_IDS.approval}`);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Could not load this thread");
    expect(alert).toHaveTextContent(
      `GET /api/v1/threads/${THREAD_IDS.approval} is not what this dashboard expects`,
    );
    expect(alert).toHaveTextContent("turns[0].status");
  });

  it("does show live status and firing alerts at once, then refetch the turns when the thread moves", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    const fetchStub = setup();
    renderApp(`/threads/${THREAD_IDS.approval}`);
    await screen.findByTestId("thread-turn-count");
    deliverSnapshot();
    expect(screen.getByTestId(`thread-alert-${THREAD_IDS.approval}`)).toHaveTextContent(
      "waiting on approval for 7m",
    );
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3_000);
    });
    // Appearing in the snapshot is not a change: no refetch.
    expect(fetchStub.callsTo(approvalPath)).toHaveLength(1);

    act(() => {
      FakeWebSocket.latest().receive({
        type: "thread",
        thread: thread({
          id: THREAD_IDS.approval,
          name: "Add partial refunds",
          status: "active",
          activeFlags: [],
          currentTurnId: "turn-a1-8",
          statusSince: new Date(NOW).toISOString(),
        }),
      });
    });
    expect(screen.getByTestId(`thread-status-${THREAD_IDS.approval}`)).toHaveTextContent("Active");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3_000);
    });
    await waitFor(() => expect(fetchStub.callsTo(approvalPath)).toHaveLength(2));
  });

  it("does export the turns table as CSV, newest first", async () => {
    setup();
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    renderApp(`/threads/${THREAD_IDS.approval}`);
    fireEvent.click(await screen.findByTestId("export-turns-csv"));
    const blob = vi.mocked(URL.createObjectURL).mock.calls.at(-1)?.[0] as Blob;
    const lines = (await blob.text()).trimEnd().split("\r\n");
    expect(lines).toHaveLength(9);
    expect(lines[0]?.startsWith("turn,turnId,status,startedAt,durationMs,model,inputTokens")).toBe(true);
    expect(lines[1]?.startsWith("8,turn-a1-8,inProgress,")).toBe(true);
    expect(lines[6]).toContain(",failed,");
    expect(lines[6]).toContain("internalServerError");
  });
});
