/**
 * Issue 15: the reducer turns status transitions (receive time) into spans of observed time and
 * ended waits; time the collector did not observe is never counted.
 */
import type { ActivitySpanRow, WaitEndRow } from "@codex-fleet/db/repositories/ingest-types";
import type { FleetEvent, ThreadInfo } from "@codex-fleet/protocol/events";
import { describe, expect, it } from "vitest";
import {
  checkpointActivity,
  type ReduceResult,
  reduce,
  stopObserving,
  type ThreadState,
  threadFromStored,
  type WriteOp,
} from "../../../src/ingest/thread-state.ts";

const TARGET = "alice";
const TH = "th-1";
const T = 1_795_245_000_000;
const S = 1000;

const info = (type: string, activeFlags: string[] = []): ThreadInfo => ({
  id: TH,
  model: "gpt-5.4",
  modelProvider: "openai",
  cwd: "/home/dev/api",
  gitBranch: "main",
  gitOrigin: "git@github.com:acme/api.git",
  source: "vscode",
  name: null,
  cliVersion: "0.169.0",
  status: { type, activeFlags } as ThreadInfo["status"],
  createdAtMs: T - 60_000,
  updatedAtMs: T - 1_000,
  parentThreadId: null,
  subAgent: null,
});

const startedAt = (atMs: number, type = "idle", flags: string[] = []): FleetEvent => ({
  kind: "threadStarted",
  atMs,
  thread: info(type, flags),
});
const status = (atMs: number, type: string, activeFlags: string[] = []): FleetEvent => ({
  kind: "threadStatus",
  atMs,
  threadId: TH,
  status: { type, activeFlags } as Extract<FleetEvent, { kind: "threadStatus" }>["status"],
});

/** Fold events (each received at its atMs); every op of every step, in order. */
function fold(events: FleetEvent[], from?: ThreadState): { state: ThreadState; ops: WriteOp[] } {
  let r: ReduceResult = { state: from, ops: [], changed: false };
  const ops: WriteOp[] = [];
  for (const e of events) {
    r = reduce(r.state, TARGET, e, e.atMs);
    ops.push(...r.ops);
  }
  return { state: r.state as ThreadState, ops };
}

const spans = (ops: WriteOp[]) =>
  ops
    .filter((o): o is { op: "span"; span: ActivitySpanRow } => o.op === "span")
    .map((o) => [o.span.kind, o.span.fromMs - T, o.span.toMs - T]);
const waits = (ops: WriteOp[]) =>
  ops
    .filter((o): o is { op: "waitEnd"; wait: WaitEndRow } => o.op === "waitEnd")
    .map((o) => [o.wait.kind, o.wait.outcome, o.wait.startMs - T, o.wait.endMs - T]);

describe("activity: spans of observed time", () => {
  it("counts working, waiting and error time between the transitions it received", () => {
    const { ops } = fold([
      startedAt(T),
      status(T + 10 * S, "active"),
      status(T + 20 * S, "active", ["waitingOnApproval"]),
      status(T + 80 * S, "active"),
      status(T + 90 * S, "active", ["waitingOnUserInput"]),
      status(T + 95 * S, "active"),
      status(T + 100 * S, "idle"),
      status(T + 200 * S, "systemError"),
      status(T + 230 * S, "idle"),
    ]);
    expect(spans(ops)).toEqual([
      ["working", 10 * S, 20 * S],
      ["waitingOnApproval", 20 * S, 80 * S],
      ["working", 80 * S, 90 * S],
      ["waitingOnInput", 90 * S, 95 * S],
      ["working", 95 * S, 100 * S],
      ["systemError", 200 * S, 230 * S],
    ]);
    expect(waits(ops)).toEqual([
      ["approval", "answered", 20 * S, 80 * S],
      ["input", "answered", 90 * S, 95 * S],
    ]);
    const span = ops.find((o) => o.op === "span") as { span: ActivitySpanRow };
    expect(span.span).toMatchObject({
      threadId: TH,
      targetId: TARGET,
      model: "gpt-5.4",
      repo: "github.com/acme/api",
    });
  });

  it("ends a wait unanswered when the thread stops with it still up (interrupted, error, unloaded)", () => {
    for (const end of ["idle", "systemError", "notLoaded"]) {
      const { ops } = fold([
        startedAt(T),
        status(T + S, "active", ["waitingOnApproval"]),
        status(T + 61 * S, end),
      ]);
      expect(waits(ops)).toEqual([["approval", "unanswered", S, 61 * S]]);
      expect(spans(ops)[0]).toEqual(["waitingOnApproval", S, 61 * S]);
    }
  });

  it("a wait that turns into another wait is answered, and the other one starts", () => {
    const { ops } = fold([
      startedAt(T),
      status(T + S, "active", ["waitingOnApproval"]),
      status(T + 5 * S, "active", ["waitingOnUserInput"]),
      status(T + 9 * S, "idle"),
    ]);
    expect(waits(ops)).toEqual([
      ["approval", "answered", S, 5 * S],
      ["input", "unanswered", 5 * S, 9 * S],
    ]);
  });

  it("the same status reported again changes nothing (a resume or list replays it)", () => {
    const { ops } = fold([
      startedAt(T, "active"),
      status(T + 5 * S, "active"),
      startedAt(T + 7 * S, "active"),
      status(T + 9 * S, "idle"),
    ]);
    expect(spans(ops)).toEqual([["working", 0, 9 * S]]);
  });

  it("never counts time before the first status it received (a restart, a reconnect)", () => {
    const stored = threadFromStored({
      ...fold([startedAt(T, "active")]).state,
      statusSinceMs: T,
      countedTotalTokens: 0n,
    } as unknown as Parameters<typeof threadFromStored>[0]);
    expect(stored.activity).toBeNull();
    // Met again waiting on an approval 100 s later: time counts from then, and the wait's start is
    // unknown, so it ends `unknown` (counted, no duration).
    const { ops } = fold(
      [startedAt(T + 100 * S, "active", ["waitingOnApproval"]), status(T + 130 * S, "active")],
      stored,
    );
    expect(spans(ops)).toEqual([["waitingOnApproval", 100 * S, 130 * S]]);
    expect(waits(ops)).toEqual([["approval", "unknown", 100 * S, 130 * S]]);
  });
});

describe("activity: stop observing, checkpoint", () => {
  it("counts the span up to the disconnect, ends the wait unknown, and counts nothing in the gap", () => {
    const before = fold([startedAt(T), status(T + 10 * S, "active", ["waitingOnApproval"])]);
    const stopped = stopObserving(before.state, T + 40 * S);
    expect(spans(stopped.ops)).toEqual([["waitingOnApproval", 10 * S, 40 * S]]);
    expect(waits(stopped.ops)).toEqual([["approval", "unknown", 10 * S, 40 * S]]);
    expect(stopped.ops.some((o) => o.op === "thread")).toBe(false);
    // Reconnected 60 s later: still waiting. The gap is unknown; time counts from the report.
    const after = fold(
      [startedAt(T + 100 * S, "active", ["waitingOnApproval"]), status(T + 110 * S, "active")],
      stopped.state,
    );
    expect(spans(after.ops)).toEqual([["waitingOnApproval", 100 * S, 110 * S]]);
    expect(waits(after.ops)).toEqual([["approval", "unknown", 100 * S, 110 * S]]);
    // Nothing observed: nothing to stop.
    expect(stopObserving(stopped.state, T + 50 * S).ops).toEqual([]);
  });

  it("a checkpoint counts the span so far and goes on from there; the wait keeps its start", () => {
    const waiting = fold([startedAt(T), status(T + 10 * S, "active", ["waitingOnApproval"])]);
    const c1 = checkpointActivity(waiting.state, T + 70 * S);
    expect(spans(c1.ops)).toEqual([["waitingOnApproval", 10 * S, 70 * S]]);
    expect(checkpointActivity(c1.state, T + 70 * S).ops).toEqual([]);
    const end = fold([status(T + 100 * S, "active")], c1.state);
    expect(spans(end.ops)).toEqual([["waitingOnApproval", 70 * S, 100 * S]]);
    expect(waits(end.ops)).toEqual([["approval", "answered", 10 * S, 100 * S]]);
    // Idle time is not activity: no checkpoint span.
    const idle = fold([status(T + 200 * S, "idle")], end.state);
    expect(checkpointActivity(idle.state, T + 300 * S).ops).toEqual([]);
  });

  it("metadata without a status does not start observing", () => {
    const stopped = stopObserving(fold([startedAt(T, "active")]).state, T + S).state;
    const meta = fold([{ kind: "threadMetadata", atMs: T + 2 * S, thread: info("active") }], stopped);
    expect(meta.state.activity).toBeNull();
  });
});
