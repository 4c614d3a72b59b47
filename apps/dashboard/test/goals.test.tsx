import type { ThreadDetail, ThreadGoalView } from "@codex-fleet/protocol/api";
import { screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { APPROVAL_DETAIL, NOW, snapshotMessage, THREAD_IDS, THREADS } from "./fixtures.ts";
import { deliverSnapshot, renderApp } from "./render-app.tsx";
import { PENDING, stubFetch } from "./stub-fetch.ts";

const iso = (ms: number) => new Date(ms).toISOString();

const goal = (over: Partial<ThreadGoalView> = {}): ThreadGoalView => ({
  status: "budgetLimited",
  tokenBudget: 1_000,
  tokensUsed: 1_260,
  updatedAt: iso(NOW - 120_000),
  statusSince: iso(NOW - 60_000),
  ...over,
});

describe("Thread goals", () => {
  it("does show the goal on the thread page: status pill, tokens used of the budget as a bar", async () => {
    vi.useFakeTimers({ now: NOW, shouldAdvanceTime: true });
    const detail: ThreadDetail = { ...APPROVAL_DETAIL, goal: goal() };
    stubFetch({
      [`GET /api/v1/threads/${THREAD_IDS.approval}`]: { body: detail },
      "GET /api/v1/alerts": { body: [] },
    });
    renderApp(`/threads/${THREAD_IDS.approval}`);
    const card = await screen.findByTestId("thread-goal", {}, { timeout: 20_000 });
    expect(card).toHaveClass("warn");
    expect(within(card).getByTestId("thread-goal-status")).toHaveTextContent("Goal over budget");
    expect(within(card).getByTestId("thread-goal-status")).toHaveClass("warn");
    // The objective is the developer's instruction (a prompt): never stored, never shown.
    expect(card.textContent).not.toContain("Ship partial refunds");
    expect(within(card).getByTestId("thread-goal-tokens")).toHaveTextContent("1.3k of 1k tokens (126%)");
    const bar = within(card).getByTestId("thread-goal-bar");
    expect(bar.style.width).toBe("100%");
    expect(bar).toHaveClass("err");
  }, 30_000);

  it("does show an active goal without a budget (no bar)", async () => {
    const detail: ThreadDetail = {
      ...APPROVAL_DETAIL,
      goal: goal({ status: "active", tokenBudget: null, tokensUsed: 420 }),
    };
    stubFetch({
      [`GET /api/v1/threads/${THREAD_IDS.approval}`]: { body: detail },
      "GET /api/v1/alerts": { body: [] },
    });
    renderApp(`/threads/${THREAD_IDS.approval}`);
    const card = await screen.findByTestId("thread-goal", {}, { timeout: 20_000 });
    expect(card).not.toHaveClass("warn");
    expect(within(card).getByTestId("thread-goal-status")).toHaveTextContent("Goal active");
    expect(within(card).getByTestId("thread-goal-tokens")).toHaveTextContent("420 tokens · no budget");
    expect(within(card).queryByTestId("thread-goal-bar")).toBeNull();
  }, 30_000);

  it("does show no goal card for a thread without a goal", async () => {
    stubFetch({
      [`GET /api/v1/threads/${THREAD_IDS.approval}`]: { body: { ...APPROVAL_DETAIL, goal: null } },
      "GET /api/v1/alerts": { body: [] },
    });
    renderApp(`/threads/${THREAD_IDS.approval}`);
    expect(await screen.findByTestId("thread-total-tokens", {}, { timeout: 20_000 })).toBeInTheDocument();
    expect(screen.queryByTestId("thread-goal")).toBeNull();
  }, 30_000);

  it("does show a small goal pill on fleet rows with a goal, warning colour when blocked or limited", () => {
    stubFetch({
      "GET /api/v1/targets": PENDING,
      "GET /api/v1/threads": PENDING,
      "GET /api/v1/alerts": { body: [] },
    });
    const [first, second, third, ...rest] = THREADS;
    if (!first || !second || !third) throw new Error("fixtures changed");
    renderApp("/");
    deliverSnapshot(
      snapshotMessage({
        threads: [
          { ...first, goal: goal({ status: "blocked" }) },
          { ...second, goal: goal({ status: "active" }) },
          { ...third, goal: goal({ status: "unknown:waitingForReview" }) },
          ...rest,
        ],
      }),
    );
    const blocked = screen.getByTestId(`thread-goal-${first.id}`);
    expect(blocked).toHaveTextContent("Goal blocked");
    expect(blocked).toHaveClass("warn");
    const active = screen.getByTestId(`thread-goal-${second.id}`);
    expect(active).toHaveTextContent("Goal active");
    expect(active).not.toHaveClass("warn");
    expect(screen.getByTestId(`thread-goal-${third.id}`)).toHaveTextContent("goal unknown: waitingForReview");
    for (const t of rest) expect(screen.queryByTestId(`thread-goal-${t.id}`)).toBeNull();
  });
});
