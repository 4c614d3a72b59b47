/** Domain state → the API shapes declared in @codex-fleet/protocol/api. */
import type { TargetView, ThreadView } from "@codex-fleet/protocol/api";
import { codexVersionFromUserAgent, isBelowCodexFloor } from "@codex-fleet/protocol/codex-version";
import type { TargetRuntime } from "../fleet/fleet.ts";
import type { ThreadState } from "../ingest/thread-state.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** One target's threads: all, active, owed a total (TargetView threads/activeThreads/pendingThreads). */
export interface TargetThreadCount {
  threads: number;
  active: number;
  pending: number;
}

const NO_THREADS: TargetThreadCount = { threads: 0, active: 0, pending: 0 };

/**
 * Every target's thread counts in one pass over the threads. The view of every target takes
 * these: counting per target walks every thread once per target (5,000 targets x 50,000 threads
 * made the live snapshot take seconds; BENCHMARKS "A year of a large organization", figure e).
 */
export class ThreadCounts {
  private readonly byTarget = new Map<string, TargetThreadCount>();
  constructor(threads: Iterable<ThreadState>) {
    for (const t of threads) {
      let c = this.byTarget.get(t.targetId);
      if (!c) {
        c = { threads: 0, active: 0, pending: 0 };
        this.byTarget.set(t.targetId, c);
      }
      c.threads++;
      if (t.status === "active") c.active++;
      if (t.owedSinceMs !== null) c.pending++;
    }
  }
  of(target: string): TargetThreadCount {
    return this.byTarget.get(target) ?? NO_THREADS;
  }
}

/**
 * Target → its public view. The token is never part of it. `codexVersion` is read from the last
 * `initialize` userAgent (kept while the target reconnects); null when it never said or said nonsense.
 */
export function targetView(
  rt: TargetRuntime,
  threads: Iterable<ThreadState> | ThreadCounts,
  codexVersionFloor: string,
): TargetView {
  let count = 0;
  let active = 0;
  let pending = 0;
  if (threads instanceof ThreadCounts) {
    const c = threads.of(rt.config.name);
    count = c.threads;
    active = c.active;
    pending = c.pending;
  } else
    for (const t of threads) {
      if (t.targetId !== rt.config.name) continue;
      count++;
      if (t.status === "active") active++;
      if (t.owedSinceMs !== null) pending++;
    }
  const s = rt.status;
  const codexVersion = codexVersionFromUserAgent(s.userAgent);
  return {
    name: rt.config.name,
    team: rt.config.team,
    url: rt.config.url,
    labels: { ...rt.config.labels },
    state: s.state,
    reason: s.reason,
    stateSince: new Date(s.sinceMs).toISOString(),
    lastError: s.error ?? (rt.lastInvalid ? `invalid frame: ${rt.lastInvalid}` : null),
    userAgent: s.userAgent,
    codexVersion,
    belowSupportedFloor: isBelowCodexFloor(codexVersion, codexVersionFloor),
    lastEventAt: iso(rt.lastEventAtMs),
    connectedSince: iso(rt.connectedSinceMs),
    threads: count,
    activeThreads: active,
    pendingThreads: pending,
    followedBy: rt.followedBy,
  };
}

export function threadView(t: ThreadState, team: string): ThreadView {
  return {
    id: t.id,
    target: t.targetId,
    team,
    name: t.name,
    model: t.model,
    cwd: t.cwd,
    repo: t.repo,
    gitBranch: t.gitBranch,
    status: t.status,
    activeFlags: t.activeFlags,
    statusSince: new Date(t.statusSinceMs).toISOString(),
    lastEventAt: iso(t.lastEventAtMs),
    currentTurnId: t.currentTurnId,
    currentTurnStartedAt: iso(t.currentTurnStartedAtMs),
    lastTurnStatus: t.lastTurnStatus,
    lastErrorMessage: t.lastErrorMessage,
    lastCodexErrorInfo: t.lastCodexErrorInfo,
    contextTokens: t.contextTokens,
    modelContextWindow: t.modelContextWindow,
    pendingRequests: t.pendingRequests,
    totalTokens: t.countedTotalTokens,
    createdAt: iso(t.createdAtMs),
    updatedAt: iso(t.updatedAtMs),
    owedSince: iso(t.owedSinceMs),
    owedReason: t.owedReason,
    goal: t.goal
      ? {
          status: t.goal.status,
          tokenBudget: t.goal.tokenBudget,
          tokensUsed: t.goal.tokensUsed,
          updatedAt: iso(t.goal.updatedAtMs),
          statusSince: new Date(t.goal.statusSinceMs).toISOString(),
        }
      : null,
  };
}
