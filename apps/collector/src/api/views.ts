/** Domain state → the API shapes declared in @codex-fleet/protocol/api. */
import type { TargetView, ThreadView } from "@codex-fleet/protocol/api";
import { codexVersionFromUserAgent, isBelowCodexFloor } from "@codex-fleet/protocol/codex-version";
import type { TargetRuntime } from "../fleet/fleet.ts";
import type { ThreadTable } from "../fleet/thread-table.ts";
import type { ThreadState } from "../ingest/thread-state.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Target → its public view. The token is never part of it. `codexVersion` is read from the last
 * `initialize` userAgent (kept while the target reconnects); null when it never said or said nonsense.
 */
export function targetView(rt: TargetRuntime, threads: ThreadTable, codexVersionFloor: string): TargetView {
  const { threads: count, active, pending } = threads.countsOf(rt.config.name);
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
