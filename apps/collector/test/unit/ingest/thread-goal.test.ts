import type { FleetEvent, ThreadGoal } from "@codex-fleet/protocol/events";
import { describe, expect, it } from "vitest";
import {
  emptyThread,
  type ReduceResult,
  reduce,
  type ThreadState,
} from "../../../src/ingest/thread-state.ts";

const TARGET = "alice";
const TH = "th-goal";
const T = 1_795_245_000_000;

function deepFreeze<V>(v: V): V {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** reduce() on frozen inputs, received `receivedAtMs` (the server's clock is `atMs`). */
function run(prev: ThreadState | undefined, event: FleetEvent, receivedAtMs = event.atMs): ReduceResult {
  return reduce(deepFreeze(prev), TARGET, deepFreeze(event), receivedAtMs);
}

const goal = (over: Partial<ThreadGoal> = {}): ThreadGoal => ({
  status: "active",
  tokenBudget: 5_000,
  tokensUsed: 1_000,
  updatedAtMs: T - 60_000,
  ...over,
});
const updated = (g: ThreadGoal, atMs: number): FleetEvent => ({
  kind: "threadGoalUpdated",
  atMs,
  threadId: TH,
  goal: g,
});
const cleared = (atMs: number): FleetEvent => ({ kind: "threadGoalCleared", atMs, threadId: TH });
const threadOps = (r: ReduceResult) => r.ops.filter((o) => o.op === "thread");

describe("reduce: thread goals", () => {
  it("records a goal with its status clock at the receive time, and writes it", () => {
    const r = run(emptyThread(TH, TARGET, T), updated(goal(), T + 5), T + 10);
    expect(r.state?.goal).toEqual({ ...goal(), statusSinceMs: T + 10 });
    expect(r.changed).toBe(true);
    expect(threadOps(r)).toEqual([{ op: "thread", state: r.state }]);
  });

  it("a thread first seen through its goal gets one", () => {
    const r = run(undefined, updated(goal({ status: "blocked" }), T));
    expect(r.state).toMatchObject({
      id: TH,
      targetId: TARGET,
      goal: { status: "blocked", statusSinceMs: T },
    });
  });

  it("a replayed goal (every thread/resume) changes and writes nothing but liveness", () => {
    const first = run(emptyThread(TH, TARGET, T), updated(goal(), T), T).state as ThreadState;
    const replay = run(first, updated(goal(), T + 30_000), T + 30_000);
    expect(replay.state?.goal).toBe(first.goal);
    expect(replay.changed).toBe(false);
    const again = run(replay.state, updated(goal(), T + 30_000), T + 30_000);
    expect(again.changed).toBe(false);
    expect(again.ops).toEqual([]);
  });

  it("keeps the status clock while only the figures move; restarts it when the status changes", () => {
    const a = run(emptyThread(TH, TARGET, T), updated(goal(), T), T).state as ThreadState;
    const b = run(a, updated(goal({ tokensUsed: 4_000, updatedAtMs: T }), T + 1_000), T + 1_000);
    expect(b.changed).toBe(true);
    expect(b.state?.goal).toMatchObject({ tokensUsed: 4_000, statusSinceMs: T });
    const c = run(
      b.state,
      updated(goal({ status: "budgetLimited", tokensUsed: 5_200, updatedAtMs: T + 2_000 }), T + 2_000),
      T + 2_500,
    );
    expect(c.state?.goal).toEqual({
      status: "budgetLimited",
      tokenBudget: 5_000,
      tokensUsed: 5_200,
      updatedAtMs: T + 2_000,
      statusSinceMs: T + 2_500,
    });
  });

  it("a skewed server clock does not move the status clock", () => {
    const r = run(emptyThread(TH, TARGET, T), updated(goal({ status: "blocked" }), T - 86_400_000), T);
    expect(r.state?.goal?.statusSinceMs).toBe(T);
  });

  it("cleared → null, written; a replayed clear changes nothing", () => {
    const a = run(emptyThread(TH, TARGET, T), updated(goal(), T), T).state as ThreadState;
    const b = run(a, cleared(T + 1), T + 1);
    expect(b.state?.goal).toBeNull();
    expect(b.changed).toBe(true);
    expect(threadOps(b)[0]).toMatchObject({ state: { goal: null } });
    const c = run(b.state, cleared(T + 2), T + 2);
    expect(c.changed).toBe(false);
    expect(c.state?.goal).toBeNull();
  });

  it("a thread whose goal is not known (absent) learns from a clear that it has none", () => {
    const prev = emptyThread(TH, TARGET, T);
    expect(prev.goal).toBeUndefined();
    const r = run(prev, cleared(T), T);
    expect(r.state?.goal).toBeNull();
    expect(r.changed).toBe(true);
  });

  it("other events leave the goal as it is, and a goal event never names the running turn", () => {
    const a = run(emptyThread(TH, TARGET, T), updated(goal(), T), T).state as ThreadState;
    const b = run(a, {
      kind: "threadStatus",
      atMs: T + 1,
      threadId: TH,
      status: { type: "active", activeFlags: [] },
    });
    expect(b.state?.goal).toBe(a.goal);
    const c = run(b.state, updated(goal({ tokensUsed: 2_000 }), T + 2));
    expect(c.state?.currentTurnId).toBeNull();
  });
});
