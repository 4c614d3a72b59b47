/**
 * Domain events: what the collector consumes from a codex app-server, normalized.
 * Produced by `normalize.ts` from wire frames; consumed by the observer and ingest.
 * Browser-safe (no Node built-ins).
 */
import type { PlanLimitReport } from "./limits.ts";
import type { GoalStatus, ThreadStatusType, TurnStatus, UnknownVariant } from "./status.ts";

/**
 * The token counters codex reports. The accounting invariant counts `totalTokens` once; the other
 * counters are its parts (`cachedInputTokens` and `cacheWriteInputTokens` inside `inputTokens`,
 * `reasoningOutputTokens` inside `outputTokens`).
 */
export interface TokenCounts {
  inputTokens: number;
  cachedInputTokens: number;
  /**
   * Input tokens written to the prompt cache (codex 0.169.0 fills it from the Responses
   * `input_tokens_details.cache_write_tokens`; a part of `inputTokens`, billed at the model's
   * cache-write rate). The normalizer always sets it (0 when the server omits it); optional
   * because counts built before it existed, and most test literals, have no such key.
   */
  cacheWriteInputTokens?: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

export const ZERO_TOKENS: TokenCounts = Object.freeze({
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: 0,
});

export type ActiveFlag = "waitingOnApproval" | "waitingOnUserInput";

export interface ThreadStatus {
  type: ThreadStatusType;
  /** Only for `active`; unknown flags are kept as strings. */
  activeFlags: string[];
}

/** Thread metadata. Never includes the preview (it is the user's prompt). */
export interface ThreadInfo {
  id: string;
  model: string | null;
  modelProvider: string | null;
  cwd: string | null;
  gitBranch: string | null;
  gitOrigin: string | null;
  source: string | null;
  name: string | null;
  cliVersion: string | null;
  status: ThreadStatus;
  /** Unix ms. */
  createdAtMs: number | null;
  /** Unix ms. */
  updatedAtMs: number | null;
  /** The thread that spawned this one (a sub-agent), when known and usable. */
  parentThreadId: string | null;
  /** Set when `source` is `{subAgent: …}`. */
  subAgent: SubAgentInfo | null;
}

/** What kind of sub-agent a thread is: `thread_spawn`, `review`, `compact`, … or `unknown:<name>`. */
export interface SubAgentInfo {
  kind: string;
  /** Spawn depth as the server reports it (thread_spawn only); display only, never trusted. */
  depth: number | null;
}

/** A thread's goal (`thread/goal/updated`): what it is after, how far its token budget went. */
export interface ThreadGoal {
  status: GoalStatus;
  /** null: no budget. */
  tokenBudget: number | null;
  /** null: not reported (or unusable). */
  tokensUsed: number | null;
  /** Server time of the goal's last change, unix ms. */
  updatedAtMs: number | null;
}

export interface TurnError {
  message: string;
  /** codexErrorInfo flattened to a string: "internalServerError", or the variant key ("responseStreamDisconnected"). */
  codexErrorInfo: string | null;
  /** The HTTP status when the variant carries one. */
  httpStatusCode: number | null;
}

export interface TurnInfo {
  id: string;
  status: TurnStatus;
  error: TurnError | null;
  /** Unix ms (codex reports seconds). */
  startedAtMs: number | null;
  completedAtMs: number | null;
  durationMs: number | null;
}

/** Item metadata only: never text, commands or output. */
export interface ItemInfo {
  id: string;
  type: string;
  status: string | null;
}

/**
 * What a server request asks for, by its method. A method this version does not know is kept as
 * `unknown:<method>` (cut), counted and shown; the collector never answers any of them.
 */
export type ServerRequestKind =
  | "commandApproval"
  | "fileChangeApproval"
  | "permissionsApproval"
  | "userInput"
  | "elicitation"
  | "toolCall"
  | UnknownVariant;

/** Server request method → kind (legacy v1 approvals included). */
export const SERVER_REQUEST_KINDS: Readonly<Record<string, ServerRequestKind>> = Object.freeze({
  "item/commandExecution/requestApproval": "commandApproval",
  execCommandApproval: "commandApproval",
  "item/fileChange/requestApproval": "fileChangeApproval",
  applyPatchApproval: "fileChangeApproval",
  "item/permissions/requestApproval": "permissionsApproval",
  "item/tool/requestUserInput": "userInput",
  "mcpServer/elicitation/request": "elicitation",
  "item/tool/call": "toolCall",
});

/** Kinds that wait on a person's approval (the `waitingOnApproval` view and alert rule). */
export const APPROVAL_REQUEST_KINDS: ReadonlySet<string> = new Set([
  "commandApproval",
  "fileChangeApproval",
  "permissionsApproval",
]);
/** Kinds that wait on a person's input (the `waitingOnUserInput` view and alert rule). */
/**
 * Kinds that wait for a person's answer: a tool asking the user, and an MCP server's elicitation
 * (it blocks the turn until someone answers it). A dynamic tool call (`toolCall`) is run by the
 * client, not a person, so it is shown under its own kind but is not a wait.
 */
export const USER_INPUT_REQUEST_KINDS: ReadonlySet<string> = new Set(["userInput", "elicitation"]);

interface Base {
  /** Server clock (`emittedAtMs`), or the collector's receive time when absent. */
  atMs: number;
}

export type FleetEvent =
  | (Base & { kind: "threadStarted"; thread: ThreadInfo })
  /** Metadata read back later (thread/read): everything but the status, which may be stale. */
  | (Base & { kind: "threadMetadata"; thread: ThreadInfo })
  | (Base & { kind: "threadStatus"; threadId: string; status: ThreadStatus })
  | (Base & { kind: "threadClosed"; threadId: string })
  | (Base & { kind: "threadNameUpdated"; threadId: string; name: string | null })
  /**
   * The thread's goal as it is now. Replayed unchanged on every thread/resume (facts §2), so
   * applying it must be idempotent. The notification's turnId is dropped on purpose: a replay
   * names an old turn, which must not pass for the running one.
   */
  | (Base & { kind: "threadGoalUpdated"; threadId: string; goal: ThreadGoal })
  | (Base & { kind: "threadGoalCleared"; threadId: string })
  | (Base & { kind: "turnStarted"; threadId: string; turn: TurnInfo })
  | (Base & { kind: "turnCompleted"; threadId: string; turn: TurnInfo })
  | (Base & {
      kind: "tokenUsage";
      threadId: string;
      turnId: string | null;
      total: TokenCounts;
      last: TokenCounts;
      modelContextWindow: number | null;
    })
  | (Base & {
      kind: "error";
      threadId: string;
      turnId: string | null;
      error: TurnError;
      willRetry: boolean;
    })
  | (Base & {
      kind: "modelRerouted";
      threadId: string;
      turnId: string | null;
      fromModel: string;
      toModel: string;
    })
  | (Base & {
      kind: "itemStarted" | "itemCompleted";
      threadId: string;
      turnId: string | null;
      item: ItemInfo;
    })
  | (Base & {
      kind: "serverRequest";
      /** JSON-RPC id of the request. Recorded, NEVER answered. */
      requestId: string | number;
      method: string;
      requestKind: ServerRequestKind;
      threadId: string | null;
      turnId: string | null;
      itemId: string | null;
      /** A short preview of the command (first 120 chars) for approvals; never file contents. */
      preview: string | null;
    })
  | (Base & { kind: "serverRequestResolved"; threadId: string | null; requestId: string | number })
  /**
   * Plan limits as `account/rateLimits/updated` reported them (sparse: merge, never replace). Not
   * about a thread: the notification names none. Empty reports (an API-key login) are dropped.
   */
  | (Base & { kind: "rateLimits"; reports: PlanLimitReport[] })
  /** A known method the collector does not consume. */
  | (Base & { kind: "ignored"; method: string })
  /** A method this version of the collector does not know: counted, never thrown. */
  | (Base & { kind: "unknown"; method: string });

export type FleetEventKind = FleetEvent["kind"];

/** The request kinds behind each waiting flag. */
export const WAITING_REQUEST_KINDS: Readonly<Record<ActiveFlag, ReadonlySet<string>>> = {
  waitingOnApproval: APPROVAL_REQUEST_KINDS,
  waitingOnUserInput: USER_INPUT_REQUEST_KINDS,
};

/**
 * An active thread waits on `flag` when the server says so (its active flags) or when a pending
 * server request of a matching kind says so (the flag can lag: a request replayed to a late
 * subscriber arrives before any status change).
 */
export function isWaitingOn(
  thread: {
    status: string;
    activeFlags: readonly string[];
    pendingRequests: readonly { requestKind: string }[];
  },
  flag: ActiveFlag,
): boolean {
  if (thread.status !== "active") return false;
  if (thread.activeFlags.includes(flag)) return true;
  const kinds = WAITING_REQUEST_KINDS[flag];
  return thread.pendingRequests.some((r) => kinds.has(r.requestKind));
}
