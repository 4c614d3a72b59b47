/**
 * The live state of every thread, derived from domain events by a pure reducer. The reducer
 * returns the new state plus the write operations the event implies; the writer persists them.
 */

import type {
  ActivitySpanRow,
  GoalSnapshot,
  OwedMark,
  ThreadSnapshot,
  TurnPatchRow,
  UsageReportRow,
  WaitEndRow,
} from "@codex-fleet/db/repositories/ingest-types";
import type { StoredThread } from "@codex-fleet/db/repositories/threads-repository";
import { type ActivityKind, activityKind, type WaitKind, waitOf } from "@codex-fleet/protocol/activity";
import type { FleetEvent, ThreadGoal, ThreadInfo, TurnInfo } from "@codex-fleet/protocol/events";
import { isUnknownVariant, TERMINAL_TURN_STATUSES, type TurnStatus } from "@codex-fleet/protocol/status";
import { repoFromOrigin } from "./repo-name.ts";

/** Everything the fleet view, alerts and the writer need about one thread: the persisted record plus: */
export interface ThreadState extends ThreadSnapshot {
  /** `model/rerouted` for the current turn wins over the thread's model for that turn's usage. */
  reroutedTurnId: string | null;
  reroutedModel: string | null;
  /** Cumulative tokens counted so far (display only; the database baseline is the truth). */
  countedTotalTokens: number;
  /**
   * Open recovery obligation, mirrored from the database (loaded at start, set with each mark,
   * cleared when a batch reports it cleared): the total may be unread since then, for that reason.
   */
  owedSinceMs: number | null;
  owedAtMs: number | null;
  owedReason: string | null;
  /**
   * Activity (issue 15), in memory only: the kind of time the thread has been spending since
   * `sinceMs` as observed on this connection (kind null: idle or unloaded); null when the collector
   * is not observing it (never reported on this connection, or it stopped observing): time then
   * is unknown and never counted.
   */
  activity: { kind: ActivityKind | null; sinceMs: number } | null;
  /** The wait in progress: since when, and whether its start was observed (else its duration is unknown). */
  wait: { kind: WaitKind; startMs: number; startObserved: boolean } | null;
}

/** A turn row patch (db's `TurnPatchRow`); only the fields present are written. */
export interface TurnPatch extends Omit<TurnPatchRow, "status"> {
  status?: TurnStatus;
}

/** One cumulative-total report to run through the accounting rule (db's `UsageReportRow`). */
export type UsageReport = UsageReportRow;

export type WriteOp =
  | { op: "thread"; state: ThreadState }
  | { op: "turn"; patch: TurnPatch }
  | { op: "usage"; report: UsageReport }
  | { op: "owed"; mark: OwedMark }
  | { op: "span"; span: ActivitySpanRow }
  | { op: "waitEnd"; wait: WaitEndRow };

export interface ReduceResult {
  state: ThreadState | undefined;
  ops: WriteOp[];
  /** The thread changed in a way the live feed should show. */
  changed: boolean;
}

/** A thread we know nothing about yet. */
export function emptyThread(id: string, targetId: string, nowMs: number): ThreadState {
  return {
    id,
    targetId,
    model: null,
    modelProvider: null,
    cwd: null,
    repo: null,
    gitBranch: null,
    gitOrigin: null,
    source: null,
    name: null,
    cliVersion: null,
    status: "notLoaded",
    activeFlags: [],
    statusSinceMs: nowMs,
    lastEventAtMs: null,
    currentTurnId: null,
    currentTurnStartedAtMs: null,
    lastTurnId: null,
    lastTurnStatus: null,
    lastErrorMessage: null,
    lastCodexErrorInfo: null,
    contextTokens: null,
    modelContextWindow: null,
    pendingRequests: [],
    createdAtMs: null,
    updatedAtMs: null,
    reroutedTurnId: null,
    reroutedModel: null,
    countedTotalTokens: 0,
    owedSinceMs: null,
    owedAtMs: null,
    owedReason: null,
    activity: null,
    wait: null,
    parentThreadId: null,
    subAgentKind: null,
    subAgentDepth: null,
  };
}

/** A thread as the database holds it (loaded at start, or read for the API). */
export function threadFromStored(s: StoredThread): ThreadState {
  return {
    ...emptyThread(s.id, s.targetId, s.statusSinceMs),
    ...s,
    countedTotalTokens: Number(s.countedTotalTokens),
    owedSinceMs: s.owedSinceMs ?? null,
    owedAtMs: s.owedAtMs ?? null,
    owedReason: s.owedReason ?? null,
    goal: s.goal ?? null,
    reroutedTurnId: null,
    reroutedModel: null,
    // What happened while no collector observed it is unknown: observing starts at its next status.
    activity: null,
    wait: null,
  };
}

/** Merge thread metadata (from thread/started, thread/list, thread/read) into a state. */
export function withThreadInfo(
  s: ThreadState,
  info: ThreadInfo,
  atMs: number,
  statusKnown = true,
): ThreadState {
  const next: ThreadState = {
    ...s,
    model: info.model ?? s.model,
    modelProvider: info.modelProvider ?? s.modelProvider,
    cwd: info.cwd ?? s.cwd,
    gitBranch: info.gitBranch ?? s.gitBranch,
    gitOrigin: info.gitOrigin ?? s.gitOrigin,
    repo: repoFromOrigin(info.gitOrigin) ?? s.repo,
    source: info.source ?? s.source,
    name: info.name ?? s.name,
    cliVersion: info.cliVersion ?? s.cliVersion,
    createdAtMs: info.createdAtMs ?? s.createdAtMs,
    updatedAtMs: info.updatedAtMs ?? s.updatedAtMs,
    // Set once, like the stored row (ingest-repository): a later report cannot re-parent a thread.
    parentThreadId: s.parentThreadId ?? info.parentThreadId,
    subAgentKind: s.subAgentKind ?? info.subAgent?.kind ?? null,
    subAgentDepth: s.subAgentDepth ?? info.subAgent?.depth ?? null,
  };
  return statusKnown ? withStatus(next, info.status.type, info.status.activeFlags, atMs) : next;
}

function withStatus(s: ThreadState, type: ThreadState["status"], flags: string[], atMs: number): ThreadState {
  const sameFlags = flags.length === s.activeFlags.length && flags.every((f, i) => f === s.activeFlags[i]);
  if (type === s.status && sameFlags) return s;
  return { ...s, status: type, activeFlags: [...flags], statusSinceMs: atMs };
}

/**
 * A goal as reported, folded into the one known: the same goal again (every thread/resume replays
 * it, facts §2) returns `prev` itself, so a replay changes and writes nothing. The status clock
 * restarts only when the status changes, at the collector's receive time.
 */
export function withGoal(
  prev: GoalSnapshot | null | undefined,
  goal: ThreadGoal,
  seenMs: number,
): GoalSnapshot {
  if (
    prev &&
    prev.status === goal.status &&
    prev.tokenBudget === goal.tokenBudget &&
    prev.tokensUsed === goal.tokensUsed &&
    prev.updatedAtMs === goal.updatedAtMs
  )
    return prev;
  return { ...goal, statusSinceMs: prev && prev.status === goal.status ? prev.statusSinceMs : seenMs };
}

/** The model a turn's usage is attributed to: the reroute target for that turn, else the thread's. */
export function modelForTurn(s: ThreadState, turnId: string | null): string {
  if (turnId !== null && s.reroutedTurnId === turnId && s.reroutedModel) return s.reroutedModel;
  return s.model ?? "unknown";
}

function turnPatchFrom(s: ThreadState, turn: TurnInfo): TurnPatch {
  return {
    id: turn.id,
    threadId: s.id,
    targetId: s.targetId,
    model: modelForTurn(s, turn.id),
    status: turn.status,
    errorMessage: turn.error?.message ?? null,
    codexErrorInfo: turn.error?.codexErrorInfo ?? null,
    startedAtMs: turn.startedAtMs,
    completedAtMs: turn.completedAtMs,
    durationMs: turn.durationMs,
  };
}

/**
 * Apply one event for `targetId`. Returns the new state (undefined when the event is not about a
 * thread) and the writes it implies. Pure: time comes from the event.
 */
export function reduce(
  prev: ThreadState | undefined,
  targetId: string,
  event: FleetEvent,
  /**
   * When the collector received the event. Live-state times (status since, last event, pending
   * since) use it, so a skewed server clock or replayed history cannot make a thread look stuck;
   * usage and turn timings keep the server's `emittedAtMs` (when it happened).
   */
  receivedAtMs: number = event.atMs,
): ReduceResult {
  if (!("threadId" in event) && !("thread" in event)) return { state: prev, ops: [], changed: false };
  const threadId = "thread" in event ? event.thread.id : event.threadId;
  if (threadId === null) return { state: prev, ops: [], changed: false };
  const at = event.atMs;
  const seen = receivedAtMs;
  const base = prev ?? emptyThread(threadId, targetId, seen);
  let s: ThreadState = { ...base, targetId, lastEventAtMs: Math.max(base.lastEventAtMs ?? 0, seen) };
  const ops: WriteOp[] = [];
  let changed = prev === undefined;
  /** The event tells the thread's status (then activity is observed from here on). */
  let statusReported = false;

  switch (event.kind) {
    case "threadStarted":
      s = withThreadInfo(s, event.thread, seen);
      statusReported = true;
      changed = true;
      break;
    case "threadMetadata":
      s = withThreadInfo(s, event.thread, seen, false);
      changed = true;
      break;
    case "threadStatus": {
      const before = s;
      s = withStatus(s, event.status.type, event.status.activeFlags, seen);
      // Left active for a known status: any pending request is over even if serverRequest/resolved
      // was missed. An unknown status (a newer server's `unknown:<name>`) is shown as is and holds no
      // timer (like idle), but ends nothing it cannot know about.
      const type = event.status.type;
      if (type !== "active" && !isUnknownVariant(type) && s.pendingRequests.length > 0)
        s = { ...s, pendingRequests: [] };
      statusReported = true;
      changed = changed || s !== before;
      break;
    }
    case "threadClosed":
      s = withStatus(s, "notLoaded", [], seen);
      s = { ...s, pendingRequests: [] };
      statusReported = true;
      changed = true;
      break;
    case "threadNameUpdated":
      s = { ...s, name: event.name };
      changed = true;
      break;
    case "threadGoalUpdated": {
      const goal = withGoal(s.goal, event.goal, seen);
      if (goal !== s.goal) {
        s = { ...s, goal };
        changed = true;
      }
      break;
    }
    case "threadGoalCleared":
      if (s.goal !== null) {
        s = { ...s, goal: null };
        changed = true;
      }
      break;
    case "turnStarted":
      s = {
        ...s,
        currentTurnId: event.turn.id,
        currentTurnStartedAtMs: event.turn.startedAtMs ?? seen,
        lastTurnStatus: s.lastTurnStatus,
      };
      ops.push({ op: "turn", patch: turnPatchFrom(s, event.turn) });
      changed = true;
      break;
    case "turnCompleted": {
      const patch = turnPatchFrom(s, event.turn);
      if (patch.completedAtMs == null && event.turn.status !== "inProgress") patch.completedAtMs = at;
      // An unknown status (`unknown:<name>`) is shown but counts as neither completed nor failed;
      // it never replaces a known outcome of the same turn (a later known status wins).
      const keepKnown =
        isUnknownVariant(event.turn.status) &&
        s.lastTurnId === event.turn.id &&
        s.lastTurnStatus !== null &&
        TERMINAL_TURN_STATUSES.includes(s.lastTurnStatus);
      ops.push({ op: "turn", patch });
      s = {
        ...s,
        currentTurnId: s.currentTurnId === event.turn.id ? null : s.currentTurnId,
        currentTurnStartedAtMs: s.currentTurnId === event.turn.id ? null : s.currentTurnStartedAtMs,
        lastTurnId: event.turn.id,
        lastTurnStatus: keepKnown ? s.lastTurnStatus : event.turn.status,
        lastErrorMessage:
          event.turn.error?.message ??
          (event.turn.status === "failed" || keepKnown ? s.lastErrorMessage : null),
        lastCodexErrorInfo:
          event.turn.error?.codexErrorInfo ??
          (event.turn.status === "failed" || keepKnown ? s.lastCodexErrorInfo : null),
        pendingRequests: s.pendingRequests.filter((r) => r.turnId !== event.turn.id),
      };
      changed = true;
      break;
    }
    case "tokenUsage": {
      const contextTokens = event.last.totalTokens;
      s = { ...s, contextTokens, modelContextWindow: event.modelContextWindow ?? s.modelContextWindow };
      ops.push({
        op: "usage",
        report: {
          threadId,
          turnId: event.turnId,
          targetId,
          model: modelForTurn(s, event.turnId),
          repo: s.repo ?? "",
          atMs: at,
          total: event.total,
          last: event.last,
          receivedAtMs: seen,
        },
      });
      if (event.turnId) {
        ops.push({ op: "turn", patch: { id: event.turnId, threadId, targetId, contextTokens } });
      }
      changed = true;
      break;
    }
    case "error":
      // Non-terminal errors (willRetry) are progress reports; only turn/completed is terminal (facts §3).
      if (!event.willRetry) {
        s = { ...s, lastErrorMessage: event.error.message, lastCodexErrorInfo: event.error.codexErrorInfo };
        changed = true;
      }
      break;
    case "modelRerouted":
      s = { ...s, reroutedTurnId: event.turnId, reroutedModel: event.toModel };
      if (event.turnId)
        ops.push({ op: "turn", patch: { id: event.turnId, threadId, targetId, model: event.toModel } });
      changed = true;
      break;
    case "serverRequest":
      if (!s.pendingRequests.some((r) => r.requestId === event.requestId)) {
        s = {
          ...s,
          pendingRequests: [
            ...s.pendingRequests,
            {
              requestId: event.requestId,
              method: event.method,
              requestKind: event.requestKind,
              turnId: event.turnId,
              itemId: event.itemId,
              preview: event.preview,
              sinceMs: seen,
            },
          ].slice(-20),
        };
        changed = true;
      }
      break;
    case "serverRequestResolved":
      if (s.pendingRequests.some((r) => r.requestId === event.requestId)) {
        s = { ...s, pendingRequests: s.pendingRequests.filter((r) => r.requestId !== event.requestId) };
        changed = true;
      }
      break;
    case "itemStarted":
    case "itemCompleted":
      // Item metadata only refreshes liveness (lastEventAt).
      break;
  }
  // A late subscriber misses turn/started (facts §2): any event that names the running turn tells it.
  const turnId = "turnId" in event ? event.turnId : null;
  if (turnId && s.status === "active" && s.currentTurnId === null && s.lastTurnId !== turnId) {
    s = { ...s, currentTurnId: turnId, currentTurnStartedAtMs: s.currentTurnStartedAtMs ?? seen };
    changed = true;
  }
  if (statusReported) s = observeStatus(s, seen, ops);
  if (changed || s.lastEventAtMs !== base.lastEventAtMs) ops.unshift({ op: "thread", state: s });
  return { state: s, ops, changed };
}

/** The rollup key of a thread's activity: its model and repository as known now. */
function activityKey(s: ThreadState) {
  return { threadId: s.id, targetId: s.targetId, model: s.model ?? "unknown", repo: s.repo ?? "" };
}

/** Close the observed span of `s` at `atMs` (when it is of a counted kind and not empty). */
function closeSpan(s: ThreadState, atMs: number, ops: WriteOp[]): void {
  const a = s.activity;
  if (a?.kind && atMs > a.sinceMs)
    ops.push({ op: "span", span: { ...activityKey(s), kind: a.kind, fromMs: a.sinceMs, toMs: atMs } });
}

/**
 * The thread's status was reported at `atMs` (its state already holds it): close the observed span
 * when the kind of time changed, or start observing; end a wait whose flag is down, start one
 * whose flag is up. A wait ends `answered` when the thread goes on (working, or waiting on
 * something else), `unanswered` when it stops (idle, error, unloaded) — or when its start was not
 * observed, `unknown` (counted, but no duration). Pure.
 */
export function observeStatus(s: ThreadState, atMs: number, ops: WriteOp[]): ThreadState {
  const kind = activityKind(s.status, s.activeFlags);
  let next = s;
  if (!s.activity || s.activity.kind !== kind) {
    closeSpan(s, atMs, ops);
    next = { ...next, activity: { kind, sinceMs: atMs } };
  }
  const waitKind = waitOf(kind);
  if (s.wait && s.wait.kind !== waitKind) {
    const goesOn = kind === "working" || waitKind !== null;
    const outcome = !s.wait.startObserved ? "unknown" : goesOn ? "answered" : "unanswered";
    ops.push({
      op: "waitEnd",
      wait: { ...activityKey(s), kind: s.wait.kind, outcome, startMs: s.wait.startMs, endMs: atMs },
    });
    next = { ...next, wait: null };
  }
  if (waitKind !== null && next.wait === null)
    next = { ...next, wait: { kind: waitKind, startMs: atMs, startObserved: s.activity !== null } };
  return next;
}

/**
 * The collector stops observing the thread at `atMs` (its connection closed, its target handed
 * over): the span so far is counted, a wait in progress ends `unknown`, and what follows is not
 * observed until its next reported status. Only activity ops: the thread row is not written (a
 * new holder may already own it).
 */
export function stopObserving(s: ThreadState, atMs: number): { state: ThreadState; ops: WriteOp[] } {
  if (!s.activity && !s.wait) return { state: s, ops: [] };
  const ops: WriteOp[] = [];
  closeSpan(s, atMs, ops);
  if (s.wait)
    ops.push({
      op: "waitEnd",
      wait: {
        ...activityKey(s),
        kind: s.wait.kind,
        outcome: "unknown",
        startMs: s.wait.startMs,
        endMs: atMs,
      },
    });
  return { state: { ...s, activity: null, wait: null }, ops };
}

/**
 * Count the observed span so far (a long wait shows in today's figures before it ends): the span
 * is written up to `atMs` and goes on from there. Only activity ops.
 */
export function checkpointActivity(s: ThreadState, atMs: number): { state: ThreadState; ops: WriteOp[] } {
  const a = s.activity;
  if (!a?.kind || atMs <= a.sinceMs) return { state: s, ops: [] };
  const ops: WriteOp[] = [];
  closeSpan(s, atMs, ops);
  return { state: { ...s, activity: { kind: a.kind, sinceMs: atMs } }, ops };
}
