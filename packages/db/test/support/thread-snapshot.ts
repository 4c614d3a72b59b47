/** An idle thread snapshot with every optional field empty (tests), `atMs` as its status and event time. */
import type { ThreadSnapshot } from "../../src/repositories/ingest-types.ts";

export function threadSnapshot(
  id: string,
  targetId: string,
  atMs: number,
  over: Partial<ThreadSnapshot> = {},
): ThreadSnapshot {
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
    parentThreadId: null,
    subAgentKind: null,
    subAgentDepth: null,
    status: "idle",
    activeFlags: [],
    statusSinceMs: atMs,
    lastEventAtMs: atMs,
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
    ...over,
  };
}
