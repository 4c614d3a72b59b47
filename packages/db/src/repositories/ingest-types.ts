/**
 * The shapes of the write path (ingest-repository.ts) and its accounting (usage-accounting.ts):
 * thread snapshots, turn patches, cumulative token reports, prices and what a batch counted. Their
 * own module so that the two files that use them do not import each other.
 */

import type { ActivityKind, WaitKind, WaitOutcome } from "@codex-fleet/protocol/activity";
import type { PendingRequest } from "@codex-fleet/protocol/api";
import type { ThreadGoal, TokenCounts } from "@codex-fleet/protocol/events";
import type { ThreadStatusType, TurnStatus } from "@codex-fleet/protocol/status";

/** A thread's live state as persisted: the one declaration the collector's state and reads extend. */
export interface ThreadSnapshot {
  id: string;
  targetId: string;
  model: string | null;
  modelProvider: string | null;
  cwd: string | null;
  repo: string | null;
  gitBranch: string | null;
  gitOrigin: string | null;
  source: string | null;
  name: string | null;
  cliVersion: string | null;
  status: ThreadStatusType;
  activeFlags: string[];
  statusSinceMs: number;
  lastEventAtMs: number | null;
  currentTurnId: string | null;
  currentTurnStartedAtMs: number | null;
  lastTurnId: string | null;
  lastTurnStatus: TurnStatus | null;
  lastErrorMessage: string | null;
  lastCodexErrorInfo: string | null;
  contextTokens: number | null;
  modelContextWindow: number | null;
  /** Requests the server is waiting on (approvals): recorded, never answered. */
  pendingRequests: PendingRequest[];
  createdAtMs: number | null;
  updatedAtMs: number | null;
  /** Sub-agents: the spawning thread as reported (set once), the sub-agent kind and depth. */
  parentThreadId: string | null;
  subAgentKind: string | null;
  subAgentDepth: number | null;
  /**
   * The thread's goal: null = none (never set, or cleared); absent = not known to this snapshot
   * (the stored goal is kept).
   */
  goal?: GoalSnapshot | null;
}

/** A thread's goal as persisted: as last reported, plus since when (collector time) it has its status. */
export interface GoalSnapshot extends ThreadGoal {
  statusSinceMs: number;
}

export interface TurnPatchRow {
  id: string;
  threadId: string;
  targetId: string;
  model?: string | null;
  status?: string;
  errorMessage?: string | null;
  codexErrorInfo?: string | null;
  startedAtMs?: number | null;
  completedAtMs?: number | null;
  durationMs?: number | null;
  contextTokens?: number | null;
}

export interface UsageReportRow {
  threadId: string;
  turnId: string | null;
  targetId: string;
  model: string;
  repo: string;
  atMs: number;
  total: TokenCounts;
  last: TokenCounts;
  /**
   * When the collector received the report (its own clock). A report received at or after a
   * thread's recovery mark (`owed_at`) that does not fall below the counted baseline clears the
   * obligation. Absent: it never clears one.
   */
  receivedAtMs?: number;
}

/** Why a thread's total may be unread (DESIGN "What is owed is persistent"). */
export type OwedReason =
  /** Met loaded (idle or active) at first contact or after a reconnect, updated since last contact. */
  | "loadedAtContact"
  /** Turned active before our subscription took effect: its total may have come before it. */
  | "activeBeforeSubscribe"
  /** notLoaded and updated while the collector was away: only a cold resume replays the total. */
  | "updatedWhileAway";

/** A recovery obligation to persist: set (first `atMs` kept as `owed_since`), never cleared here. */
export interface OwedMark {
  threadId: string;
  targetId: string;
  reason: OwedReason;
  atMs: number;
}

export interface Price {
  /** null when the model has no price: the tokens are unpriced, never $0. */
  costUsd: number | null;
  unpricedTokens: number;
  priceVersion: string;
}

/** Which request decides a delta's long-context tier (pricing's `PriceRequest`). */
export interface PriceRequest {
  requestInputTokens: number;
  /** The delta covers several model responses (priced as one request, version marked). */
  merged: boolean;
}

export type PriceFn = (model: string, atMs: number, tokens: TokenCounts, request?: PriceRequest) => Price;

export interface CountedUsage {
  threadId: string;
  turnId: string | null;
  targetId: string;
  atMs: number;
  delta: TokenCounts;
  cumulative: TokenCounts;
  costUsd: number | null;
  backfill: boolean;
}

export interface BatchResult {
  counted: CountedUsage[];
  echoes: number;
  /**
   * Reports with a counter below the counted baseline (a stale replay, or rewritten history): for
   * the log. They count nothing and the baseline is NOT moved down (see planAccounting).
   */
  decreased: { threadId: string; from: TokenCounts; to: TokenCounts }[];
  endedTurns: number;
  /**
   * Threads whose recovery obligation this batch cleared (a total received at or after the mark
   * was counted or matched the baseline), with the receive time of that report.
   */
  cleared?: { threadId: string; receivedAtMs: number }[];
}

/**
 * Observed time of one kind for one thread (issue 15): [fromMs, toMs) at the collector's receive
 * time. Counted into activity_hourly (split at hour boundaries, keyed by the thread's target, the
 * target's team, `model` and `repo`) only past the thread's `activity_until`, which moves to
 * `toMs` in the same statement: replayed or overlapping spans (a retried batch, two instances
 * during a handover) count each millisecond once.
 */
export interface ActivitySpanRow {
  threadId: string;
  targetId: string;
  kind: ActivityKind;
  model: string;
  repo: string;
  fromMs: number;
  toMs: number;
}

/**
 * A wait that ended (issue 15): counted in the hour of `endMs` (approval_waits or input_waits;
 * when answered also answered_waits, answer_ms and the histogram bucket of its duration) only when
 * `endMs` is past the thread's `wait_counted_until`, which moves to it in the same statement.
 * Outcome `unknown` (the collector stopped observing) counts the wait but no duration.
 */
export interface WaitEndRow {
  threadId: string;
  targetId: string;
  kind: WaitKind;
  outcome: WaitOutcome;
  model: string;
  repo: string;
  startMs: number;
  endMs: number;
}
