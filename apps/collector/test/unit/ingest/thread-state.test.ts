import type {
  FleetEvent,
  ServerRequestKind,
  ThreadInfo,
  TokenCounts,
  TurnInfo,
} from "@codex-fleet/protocol/events";
import { describe, expect, it } from "vitest";
import {
  emptyThread,
  type ReduceResult,
  reduce,
  type ThreadState,
  type WriteOp,
} from "../../../src/ingest/thread-state.ts";

const TARGET = "alice";
const TH = "th-1";
const T = 1_795_245_000_000;

function deepFreeze<V>(v: V): V {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** reduce() on frozen inputs: any mutation of `prev` or the event throws (ESM is strict mode). */
function run(prev: ThreadState | undefined, event: FleetEvent): ReduceResult {
  return reduce(deepFreeze(prev), TARGET, deepFreeze(event));
}

function info(over: Partial<ThreadInfo> = {}): ThreadInfo {
  return {
    id: TH,
    model: "gpt-5.4",
    modelProvider: "openai",
    cwd: "/home/dev/api",
    gitBranch: "main",
    gitOrigin: "git@github.com:acme/api.git",
    source: "vscode",
    name: null,
    cliVersion: "0.169.0",
    status: { type: "idle", activeFlags: [] },
    createdAtMs: T - 60_000,
    updatedAtMs: T - 1_000,
    parentThreadId: null,
    subAgent: null,
    ...over,
  };
}

function turn(id: string, status: TurnInfo["status"] = "inProgress", over: Partial<TurnInfo> = {}): TurnInfo {
  return { id, status, error: null, startedAtMs: T, completedAtMs: null, durationMs: null, ...over };
}

const tok = (n: number): TokenCounts => ({
  inputTokens: 8 * n,
  cachedInputTokens: 2 * n,
  outputTokens: 2 * n,
  reasoningOutputTokens: n,
  totalTokens: 10 * n,
});

const status = (type: ThreadState["status"], activeFlags: string[] = [], atMs = T): FleetEvent => ({
  kind: "threadStatus",
  atMs,
  threadId: TH,
  status: { type, activeFlags },
});
const usage = (turnId: string | null, n: number, atMs = T): FleetEvent => ({
  kind: "tokenUsage",
  atMs,
  threadId: TH,
  turnId,
  total: tok(n),
  last: tok(1),
  modelContextWindow: 258_400,
});
const request = (requestId: number, turnId: string | null, atMs = T): FleetEvent => ({
  kind: "serverRequest",
  atMs,
  requestId,
  method: "item/commandExecution/requestApproval",
  requestKind: "commandApproval",
  threadId: TH,
  turnId,
  itemId: `call_${requestId}`,
  preview: "touch x",
});

/** Fold events from nothing; returns the last result. */
function fold(events: FleetEvent[], from?: ThreadState): ReduceResult {
  let r: ReduceResult = { state: from, ops: [], changed: false };
  for (const e of events) r = run(r.state, e);
  return r;
}

const started = () => fold([{ kind: "threadStarted", atMs: T - 5_000, thread: info() }]).state as ThreadState;
const opsOf = <K extends WriteOp["op"]>(r: ReduceResult, op: K) =>
  r.ops.filter((o): o is Extract<WriteOp, { op: K }> => o.op === op);

describe("reduce: thread status", () => {
  it.each<{
    name: string;
    from: [ThreadState["status"], string[]];
    to: [ThreadState["status"], string[]];
    moves: boolean;
  }>([
    {
      name: "moves to active when an idle thread starts working",
      from: ["idle", []],
      to: ["active", []],
      moves: true,
    },
    {
      name: "records the flag when an active thread waits on approval",
      from: ["active", []],
      to: ["active", ["waitingOnApproval"]],
      moves: true,
    },
    {
      name: "clears the flag when the approval is answered",
      from: ["active", ["waitingOnApproval"]],
      to: ["active", []],
      moves: true,
    },
    {
      name: "moves to systemError when a turn fails",
      from: ["active", []],
      to: ["systemError", []],
      moves: true,
    },
    {
      name: "keeps statusSince when the same status and flags repeat",
      from: ["active", ["waitingOnUserInput"]],
      to: ["active", ["waitingOnUserInput"]],
      moves: false,
    },
  ])("$name", ({ from, to, moves }) => {
    const before = run(started(), status(from[0], from[1], T)).state as ThreadState;
    const r = run(before, status(to[0], to[1], T + 1_000));
    expect(r.state).toMatchObject({ status: to[0], activeFlags: to[1], lastEventAtMs: T + 1_000 });
    expect(r.state?.statusSinceMs).toBe(moves ? T + 1_000 : T);
    expect(r.changed).toBe(moves);
    expect(opsOf(r, "thread")).toHaveLength(1); // liveness (lastEventAt) is persisted either way
  });

  it("takes model, repo and status from thread/started", () => {
    const r = run(undefined, {
      kind: "threadStarted",
      atMs: T,
      thread: info({ status: { type: "active", activeFlags: [] } }),
    });
    expect(r.state).toMatchObject({
      id: TH,
      targetId: TARGET,
      model: "gpt-5.4",
      repo: "github.com/acme/api",
      status: "active",
      statusSinceMs: T,
    });
    expect(r.changed).toBe(true);
  });

  it("moves to notLoaded and drops pending requests when the thread is closed", () => {
    const waiting = fold([status("active", ["waitingOnApproval"]), request(0, "u1")], started()).state;
    const r = run(waiting, { kind: "threadClosed", atMs: T + 60_000, threadId: TH });
    expect(r.state).toMatchObject({
      status: "notLoaded",
      activeFlags: [],
      statusSinceMs: T + 60_000,
      pendingRequests: [],
    });
    expect(r.changed).toBe(true);
  });

  it("never moves lastEventAt backwards when an older event arrives late", () => {
    const s = run(started(), status("active", [], T + 5_000)).state;
    const r = run(s, {
      kind: "itemStarted",
      atMs: T + 1_000,
      threadId: TH,
      turnId: null,
      item: { id: "i", type: "x", status: null },
    });
    expect(r.state?.lastEventAtMs).toBe(T + 5_000);
    expect(r.ops).toEqual([]);
  });

  it("learns the running turn from any event naming it when turn/started was missed (late subscriber)", () => {
    const s = run(started(), status("active", [], T + 5_000)).state;
    const r = run(s, {
      kind: "serverRequest",
      atMs: T + 6_000,
      requestId: 0,
      method: "item/commandExecution/requestApproval",
      requestKind: "commandApproval",
      threadId: TH,
      turnId: "u9",
      itemId: "call_1",
      preview: "touch x",
    });
    expect(r.state?.currentTurnId).toBe("u9");
    expect(r.changed).toBe(true);
  });

  it.each<{ name: string; event: FleetEvent }>([
    { name: "an unknown method", event: { kind: "unknown", atMs: T, method: "future/thing" } },
    { name: "an ignored method", event: { kind: "ignored", atMs: T, method: "account/rateLimits/updated" } },
    {
      name: "a server request without a thread",
      event: { ...request(3, null), threadId: null } as FleetEvent,
    },
  ])("changes nothing when the event is $name", ({ event }) => {
    const prev = started();
    expect(run(prev, event)).toEqual({ state: prev, ops: [], changed: false });
  });
});

describe("reduce: turns", () => {
  it("sets the current turn and writes an inProgress patch when a turn starts", () => {
    const r = run(started(), { kind: "turnStarted", atMs: T + 10, threadId: TH, turn: turn("u1") });
    expect(r.state).toMatchObject({ currentTurnId: "u1", currentTurnStartedAtMs: T });
    expect(opsOf(r, "turn").map((o) => o.patch)).toEqual([
      {
        id: "u1",
        threadId: TH,
        targetId: TARGET,
        model: "gpt-5.4",
        status: "inProgress",
        errorMessage: null,
        codexErrorInfo: null,
        startedAtMs: T,
        completedAtMs: null,
        durationMs: null,
      },
    ]);
  });

  const error = { message: "high demand", codexErrorInfo: "internalServerError", httpStatusCode: null };
  it.each<{ name: string; done: TurnInfo; before?: FleetEvent[]; last: [string | null, string | null] }>([
    {
      name: "records success and clears the error when a turn completes",
      done: turn("u1", "completed"),
      last: [null, null],
    },
    {
      name: "records the turn's error when a turn fails with one",
      done: turn("u1", "failed", { error }),
      last: ["high demand", "internalServerError"],
    },
    {
      name: "keeps the error event's message when a failed turn carries none",
      before: [{ kind: "error", atMs: T + 1, threadId: TH, turnId: "u1", error, willRetry: false }],
      done: turn("u1", "failed"),
      last: ["high demand", "internalServerError"],
    },
    {
      name: "clears the error when a turn is interrupted",
      done: turn("u1", "interrupted"),
      last: [null, null],
    },
  ])("$name", ({ done, before = [], last }) => {
    const running = fold(
      [{ kind: "turnStarted", atMs: T, threadId: TH, turn: turn("u1") }, ...before],
      started(),
    ).state;
    const r = run(running, { kind: "turnCompleted", atMs: T + 2_000, threadId: TH, turn: done });
    expect(r.state).toMatchObject({
      currentTurnId: null,
      currentTurnStartedAtMs: null,
      lastTurnId: "u1",
      lastTurnStatus: done.status,
      lastErrorMessage: last[0],
      lastCodexErrorInfo: last[1],
    });
    const [patch] = opsOf(r, "turn").map((o) => o.patch);
    expect(patch).toMatchObject({ id: "u1", status: done.status, completedAtMs: T + 2_000 }); // event time stands in
    expect(patch?.errorMessage).toBe(done.error?.message ?? null);
  });

  it("keeps the server's completedAt when the turn carries one", () => {
    const r = run(started(), {
      kind: "turnCompleted",
      atMs: T + 9_000,
      threadId: TH,
      turn: turn("u1", "completed", { completedAtMs: T + 3_000 }),
    });
    expect(opsOf(r, "turn")[0]?.patch.completedAtMs).toBe(T + 3_000);
  });

  it("keeps the current turn when another turn completes", () => {
    const running = run(started(), { kind: "turnStarted", atMs: T, threadId: TH, turn: turn("u2") }).state;
    const r = run(running, {
      kind: "turnCompleted",
      atMs: T + 1,
      threadId: TH,
      turn: turn("u1", "completed"),
    });
    expect(r.state).toMatchObject({ currentTurnId: "u2", lastTurnId: "u1" });
  });

  it("changes nothing when an error will be retried", () => {
    const prev = started();
    const r = run(prev, {
      kind: "error",
      atMs: prev.lastEventAtMs ?? T,
      threadId: TH,
      turnId: "u1",
      error,
      willRetry: true,
    });
    expect(r).toEqual({ state: prev, ops: [], changed: false });
  });
});

describe("reduce: token usage", () => {
  it("emits a usage report and a context patch when tokens are reported", () => {
    const r = run(started(), usage("u1", 7, T + 50));
    expect(opsOf(r, "usage").map((o) => o.report)).toEqual([
      {
        threadId: TH,
        turnId: "u1",
        targetId: TARGET,
        model: "gpt-5.4",
        repo: "github.com/acme/api",
        atMs: T + 50,
        total: tok(7),
        last: tok(1),
        // When received (here the event's time): a report received after a recovery mark clears it.
        receivedAtMs: T + 50,
      },
    ]);
    expect(opsOf(r, "turn").map((o) => o.patch)).toEqual([
      { id: "u1", threadId: TH, targetId: TARGET, contextTokens: 10 },
    ]);
    expect(r.state).toMatchObject({ contextTokens: 10, modelContextWindow: 258_400 });
  });

  it.each<{ name: string; turnId: string; model: string }>([
    {
      name: "attributes usage to the rerouted model when the turn was rerouted",
      turnId: "u1",
      model: "gpt-5.4-mini",
    },
    {
      name: "attributes usage to the thread's model when another turn was rerouted",
      turnId: "u2",
      model: "gpt-5.4",
    },
  ])("$name", ({ turnId, model }) => {
    const rerouted = run(started(), {
      kind: "modelRerouted",
      atMs: T,
      threadId: TH,
      turnId: "u1",
      fromModel: "gpt-5.4",
      toModel: "gpt-5.4-mini",
    });
    expect(opsOf(rerouted, "turn").map((o) => o.patch)).toEqual([
      { id: "u1", threadId: TH, targetId: TARGET, model: "gpt-5.4-mini" },
    ]);
    const r = run(rerouted.state, usage(turnId, 3, T + 1));
    expect(opsOf(r, "usage")[0]?.report.model).toBe(model);
  });

  it("reports model unknown and repo '' when a late subscriber never saw the thread", () => {
    const r = run(undefined, usage("u9", 4));
    expect(opsOf(r, "usage")[0]?.report).toMatchObject({ model: "unknown", repo: "", targetId: TARGET });
    expect(r.ops[0]?.op).toBe("thread"); // the thread snapshot goes first
  });

  it("adopts the usage's turn as current when an active thread's turn/started was missed", () => {
    const active = run(started(), status("active")).state;
    expect(run(active, usage("u5", 2, T + 10)).state).toMatchObject({
      currentTurnId: "u5",
      currentTurnStartedAtMs: T + 10,
    });
  });
});

describe("reduce: server requests", () => {
  const waiting = () => fold([status("active", ["waitingOnApproval"]), request(0, "u1", T + 1)], started());

  it("records a pending request when the server asks", () => {
    const r = waiting();
    expect(r.changed).toBe(true);
    expect(r.state?.pendingRequests).toEqual([
      {
        requestId: 0,
        method: "item/commandExecution/requestApproval",
        requestKind: "commandApproval",
        turnId: "u1",
        itemId: "call_0",
        preview: "touch x",
        sinceMs: T + 1,
      },
    ]);
  });

  it("keeps one entry when a resume replays the same request", () => {
    const r = run(waiting().state, request(0, "u1", T + 50));
    expect(r.state?.pendingRequests.map((p) => [p.requestId, p.sinceMs])).toEqual([[0, T + 1]]);
    expect(r.changed).toBe(false);
  });

  it.each<{ name: string; event: FleetEvent; left: (string | number)[]; changed: boolean }>([
    {
      name: "drops the request when it is resolved",
      event: { kind: "serverRequestResolved", atMs: T + 2, threadId: TH, requestId: 0 },
      left: [1],
      changed: true,
    },
    {
      name: "changes nothing when an unknown request is resolved",
      event: { kind: "serverRequestResolved", atMs: T + 2, threadId: TH, requestId: 7 },
      left: [0, 1],
      changed: false,
    },
    {
      name: "drops only that turn's requests when a turn completes",
      event: { kind: "turnCompleted", atMs: T + 2, threadId: TH, turn: turn("u1", "interrupted") },
      left: [1],
      changed: true,
    },
    {
      name: "drops every request when the thread goes idle",
      event: status("idle", [], T + 2),
      left: [],
      changed: true,
    },
    {
      name: "keeps requests when an active thread's flags clear (other request kinds set no flag)",
      event: status("active", [], T + 2),
      left: [0, 1],
      changed: true,
    },
  ])("$name", ({ event, left, changed }) => {
    const two = run(waiting().state, request(1, "u2", T + 1)).state;
    const r = run(two, event);
    expect(r.state?.pendingRequests.map((p) => p.requestId)).toEqual(left);
    expect(r.changed).toBe(changed);
  });
});

describe("reduce: unknown variants (a newer app-server)", () => {
  it("shows an unknown thread status as is, holds no timer, and keeps pending requests", () => {
    const active = fold([status("active", ["waitingOnApproval"], T), request(1, "tu-1", T)], started()).state;
    const r = run(active, status("unknown:paused", [], T + 1_000));
    expect(r.state).toMatchObject({ status: "unknown:paused", activeFlags: [], statusSinceMs: T + 1_000 });
    expect(r.state?.pendingRequests.map((p) => p.requestId)).toEqual([1]);
    expect(r.changed).toBe(true);
    expect(opsOf(r, "thread")).toHaveLength(1);
    // A later known status wins, and a known non-active one ends the wait as usual.
    const idle = run(r.state, status("idle", [], T + 2_000)).state;
    expect(idle).toMatchObject({ status: "idle", pendingRequests: [] });
  });

  it("does not adopt a running turn while the status is unknown", () => {
    const s = run(started(), status("unknown:paused")).state;
    expect(run(s, usage("tu-7", 1)).state?.currentTurnId).toBeNull();
  });

  it("records an unknown turn status as the last outcome, neither completed nor failed", () => {
    const s = fold([{ kind: "turnStarted", atMs: T, threadId: TH, turn: turn("tu-1") }], started()).state;
    const r = run(s, {
      kind: "turnCompleted",
      atMs: T + 5_000,
      threadId: TH,
      turn: turn("tu-1", "unknown:cancelled"),
    });
    expect(r.state).toMatchObject({
      currentTurnId: null,
      lastTurnId: "tu-1",
      lastTurnStatus: "unknown:cancelled",
    });
    expect(opsOf(r, "turn")[0]?.patch).toMatchObject({
      id: "tu-1",
      status: "unknown:cancelled",
      completedAtMs: T + 5_000,
    });
  });

  it("never lets an unknown status replace a known outcome of the same turn; a later known one wins", () => {
    const failed = turn("tu-1", "failed", {
      error: { message: "boom", codexErrorInfo: "internalServerError", httpStatusCode: null },
    });
    const s = fold([{ kind: "turnCompleted", atMs: T, threadId: TH, turn: failed }], started()).state;
    const again = run(s, {
      kind: "turnCompleted",
      atMs: T + 1,
      threadId: TH,
      turn: turn("tu-1", "unknown:cancelled"),
    });
    expect(again.state).toMatchObject({
      lastTurnStatus: "failed",
      lastErrorMessage: "boom",
      lastCodexErrorInfo: "internalServerError",
    });
    const unknownFirst = run(started(), {
      kind: "turnCompleted",
      atMs: T,
      threadId: TH,
      turn: turn("tu-2", "unknown:cancelled"),
    }).state;
    const known = run(unknownFirst, {
      kind: "turnCompleted",
      atMs: T + 1,
      threadId: TH,
      turn: turn("tu-2", "completed"),
    });
    expect(known.state?.lastTurnStatus).toBe("completed");
  });

  it("records elicitations, tool calls and unknown request kinds as pending requests", () => {
    const ask = (requestId: number, method: string, requestKind: ServerRequestKind): FleetEvent => ({
      kind: "serverRequest",
      atMs: T,
      requestId,
      method,
      requestKind,
      threadId: TH,
      turnId: "tu-1",
      itemId: null,
      preview: null,
    });
    const r = fold(
      [
        ask(1, "mcpServer/elicitation/request", "elicitation"),
        ask(2, "item/tool/call", "toolCall"),
        ask(3, "brand/new", "unknown:brand/new"),
      ],
      started(),
    );
    expect(r.state?.pendingRequests.map((p) => p.requestKind)).toEqual([
      "elicitation",
      "toolCall",
      "unknown:brand/new",
    ]);
  });
});

describe("emptyThread", () => {
  it("starts notLoaded with nothing counted when a thread is unknown", () => {
    expect(emptyThread(TH, TARGET, T)).toMatchObject({
      status: "notLoaded",
      statusSinceMs: T,
      countedTotalTokens: 0,
      pendingRequests: [],
    });
  });
});

describe("reduce: clocks", () => {
  it("times live state by the collector's receive time, and usage by the server's emittedAtMs", () => {
    const serverAt = 1_000_000; // a skewed (or replayed) server clock, far in the past
    const receivedAt = 9_000_000;
    const r = reduce(
      undefined,
      "alice",
      {
        kind: "threadStatus",
        atMs: serverAt,
        threadId: "t",
        status: { type: "active", activeFlags: ["waitingOnApproval"] },
      },
      receivedAt,
    );
    expect(r.state?.statusSinceMs).toBe(receivedAt);
    expect(r.state?.lastEventAtMs).toBe(receivedAt);
    const u = reduce(
      r.state,
      "alice",
      {
        kind: "tokenUsage",
        atMs: serverAt + 5,
        threadId: "t",
        turnId: "u",
        total: {
          inputTokens: 10,
          cachedInputTokens: 0,
          outputTokens: 1,
          reasoningOutputTokens: 0,
          totalTokens: 11,
        },
        last: {
          inputTokens: 10,
          cachedInputTokens: 0,
          outputTokens: 1,
          reasoningOutputTokens: 0,
          totalTokens: 11,
        },
        modelContextWindow: null,
      },
      receivedAt + 5,
    );
    const usage = u.ops.find((o) => o.op === "usage");
    expect(usage?.op === "usage" && usage.report.atMs).toBe(serverAt + 5);
  });
});
