import { describe, expect, it } from "vitest";
import { WIRE_LIMITS } from "../src/bounds.ts";
import { normalizeFrame, unknownVariantsOf } from "../src/normalize.ts";

const NOW = 1_800_000_000_000;
const THREAD = "01a1fd1e-ab52-7d42-8bdc-e2d53607423a";

/** A goal as 0.169.0 sends it (`codex app-server generate-ts`: ThreadGoal). */
function goal(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    threadId: THREAD,
    objective: "make the tests pass",
    status: "active",
    tokenBudget: 5000,
    tokensUsed: 1200,
    timeUsedSeconds: 12,
    createdAt: 1795248000,
    updatedAt: 1795248008,
    ...over,
  };
}

const updated = (g: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    method: "thread/goal/updated",
    params: { threadId: THREAD, turnId: "turn-1", goal: g, ...extra },
    emittedAtMs: 1795248008072,
  });

describe("thread/goal/updated", () => {
  it("reads a valid goal (seconds become ms; neither the turn id nor the objective is carried)", () => {
    const r = normalizeFrame(updated(goal()), NOW);
    expect(r).toEqual({
      type: "event",
      event: {
        kind: "threadGoalUpdated",
        atMs: 1795248008072,
        threadId: THREAD,
        goal: {
          status: "active",
          tokenBudget: 5000,
          tokensUsed: 1200,
          updatedAtMs: 1795248008000,
        },
      },
    });
  });

  it.each(["paused", "blocked", "usageLimited", "budgetLimited", "complete"])("knows status %s", (status) => {
    const r = normalizeFrame(updated(goal({ status })), NOW);
    expect(r.type === "event" && r.event.kind === "threadGoalUpdated" && r.event.goal.status).toBe(status);
  });

  it("keeps an unknown status as unknown:<name> and counts it", () => {
    const r = normalizeFrame(updated(goal({ status: "waitingForReview" })), NOW);
    if (r.type !== "event" || r.event.kind !== "threadGoalUpdated") throw new Error(JSON.stringify(r));
    expect(r.event.goal.status).toBe("unknown:waitingForReview");
    expect(unknownVariantsOf(r.event)).toEqual([{ field: "goalStatus", value: "waitingForReview" }]);
  });

  it("reads a goal without a budget", () => {
    const r = normalizeFrame(updated(goal({ tokenBudget: null })), NOW);
    expect(r.type === "event" && r.event.kind === "threadGoalUpdated" && r.event.goal.tokenBudget).toBeNull();
  });

  it("never reads the objective (a prompt), cuts a hostile status name, and keeps the frame", () => {
    const r = normalizeFrame(
      updated(goal({ objective: `x\u0000${"o".repeat(1_000_000)}`, status: "s".repeat(50_000) })),
      NOW,
    );
    if (r.type !== "event" || r.event.kind !== "threadGoalUpdated")
      throw new Error(JSON.stringify(r).slice(0, 300));
    expect(JSON.stringify(r.event)).not.toContain("ooo");
    expect(r.event.goal.status.length).toBe("unknown:".length + WIRE_LIMITS.kind);
  });

  it("turns unusable figures into unknown (null) without losing the status", () => {
    const r = normalizeFrame(
      updated(goal({ tokensUsed: -5, tokenBudget: "lots", updatedAt: "soon", objective: 42 })),
      NOW,
    );
    if (r.type !== "event" || r.event.kind !== "threadGoalUpdated") throw new Error(JSON.stringify(r));
    expect(r.event.goal).toEqual({
      status: "active",
      tokenBudget: null,
      tokensUsed: null,
      updatedAtMs: null,
    });
  });

  it("refuses a frame without a thread id or a status, with a reason", () => {
    expect(normalizeFrame(updated(goal(), { threadId: "t".repeat(WIRE_LIMITS.id + 1) }), NOW)).toMatchObject({
      type: "invalid",
      method: "thread/goal/updated",
    });
    const { status: _s, ...noStatus } = goal();
    expect(normalizeFrame(updated(noStatus), NOW)).toMatchObject({
      type: "invalid",
      reason: expect.stringContaining("params.goal.status"),
    });
    expect(normalizeFrame(updated(goal({ status: 7 })), NOW)).toMatchObject({ type: "invalid" });
  });
});

describe("thread/goal/cleared", () => {
  it("reads the real 0.169.0 frame", () => {
    const frame = `{"method":"thread/goal/cleared","params":{"threadId":"${THREAD}"},"emittedAtMs":1795248008072}`;
    expect(normalizeFrame(frame, NOW)).toEqual({
      type: "event",
      event: { kind: "threadGoalCleared", atMs: 1795248008072, threadId: THREAD },
    });
  });

  it("refuses one without a thread id", () => {
    expect(normalizeFrame(`{"method":"thread/goal/cleared","params":{}}`, NOW)).toMatchObject({
      type: "invalid",
      reason: expect.stringContaining("threadId"),
    });
  });
});
