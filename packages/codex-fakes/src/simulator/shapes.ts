/**
 * Wire shapes of codex app-server 0.169.0, field for field as captured from the real server
 * (packages/protocol/test/fixtures/real-0.169.0 and codex-app-server-facts.md §1–§5). Every
 * builder returns a plain object ready for JSON.stringify; values the collector never reads are
 * filled the way a real server fills them (mostly null).
 */
import { MODEL_CONTEXT_WINDOW } from "./catalog.ts";
import type { SimCommand, SimMessage, SimStatus, SimThread, SimTurn } from "./state.ts";
import type { WireTokenCounts } from "./usage.ts";

/** The CLI version every simulated server reports. */
export const CLI_VERSION = "0.169.0";

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** `ThreadStatus`: `activeFlags` only on active (facts §3 "Status values seen"). */
export function statusShape(s: SimStatus): Record<string, unknown> {
  return s.type === "active" ? { type: "active", activeFlags: [...s.activeFlags] } : { type: s.type };
}

/**
 * A `Thread`. `listed` is the thread/list variant: `canAcceptDirectInput` null and `environments`
 * null for unloaded threads (as measured); elsewhere a loaded thread accepts direct input.
 */
export function threadShape(t: SimThread, originator: string, listed = false): Record<string, unknown> {
  const environments = t.loaded
    ? [{ environmentId: "local", cwd: t.cwd, runtimeWorkspaceRoots: [t.cwd] }]
    : null;
  return {
    id: t.id,
    environments,
    extra: null,
    sessionId: t.id,
    forkedFromId: null,
    attachedToThreadId: null,
    parentThreadId: null,
    preview: t.preview,
    ephemeral: false,
    section: null,
    sectionEnteredAt: null,
    projectId: null,
    historyMode: "paginated",
    modelProvider: t.model.provider,
    model: t.model.model,
    reasoningEffort: t.model.reasoningEffort,
    createdAt: seconds(t.createdAtMs),
    updatedAt: seconds(t.updatedAtMs),
    recencyAt: seconds(t.updatedAtMs),
    status: statusShape(t.status),
    path: t.path,
    cwd: t.cwd,
    cliVersion: CLI_VERSION,
    originator,
    source: "vscode",
    canAcceptDirectInput: listed || !t.loaded ? null : true,
    threadSource: null,
    agentNickname: null,
    agentRole: null,
    gitInfo: t.gitInfo
      ? { sha: t.gitInfo.sha, branch: t.gitInfo.branch, originUrl: t.gitInfo.originUrl }
      : null,
    name: null,
    daybreakEnabled: null,
    turns: [],
  };
}

/** A `userMessage` item. */
export function userMessageShape(m: SimMessage): Record<string, unknown> {
  return {
    type: "userMessage",
    id: m.id,
    clientId: null,
    content: [{ type: "text", text: m.text, text_elements: [] }],
    startedAtMs: m.startedAtMs,
    completedAtMs: m.completedAtMs,
  };
}

/** An `agentMessage` item. */
export function agentMessageShape(m: SimMessage): Record<string, unknown> {
  return {
    type: "agentMessage",
    moderation: null,
    id: m.id,
    text: m.text,
    phase: null,
    memoryCitation: null,
    delivery: null,
    questions: null,
    startedAtMs: m.startedAtMs,
    completedAtMs: m.completedAtMs,
  };
}

/** A `commandExecution` item. `approvalPending`: before approval the item has no process yet (source "agent"). */
export function commandShape(c: SimCommand, cwd: string, approvalPending = false): Record<string, unknown> {
  return {
    type: "commandExecution",
    id: c.id,
    pluginId: null,
    scriptPath: null,
    command: bashWrapped(c.command),
    cwd,
    processId: approvalPending ? null : c.processId,
    source: approvalPending ? "agent" : "unifiedExecStartup",
    status: c.status,
    commandActions: [{ type: "unknown", command: c.command }],
    aggregatedOutput: null,
    exitCode: c.exitCode,
    durationMs: c.durationMs,
    startedAtMs: c.startedAtMs,
    completedAtMs: c.completedAtMs,
  };
}

/** How 0.169.0 shows an `exec_command {cmd}` call. */
export const bashWrapped = (command: string): string => `/bin/bash -lc '${command.replaceAll("'", "'\\''")}'`;

/** Turn error: `{message, codexErrorInfo, additionalDetails, misalignment}`. */
export function turnErrorShape(e: { message: string; codexErrorInfo: string }): Record<string, unknown> {
  return {
    message: e.message,
    codexErrorInfo: e.codexErrorInfo,
    additionalDetails: null,
    misalignment: null,
  };
}

/**
 * A `Turn`. `view`: "live" for turn/started|completed (completed carries the final agent
 * message as a summary; failed and interrupted ones carry no items), "summary" for
 * thread/turns/list (user message + final agent message), "full" for thread/read (every item).
 */
export function turnShape(t: SimTurn, view: "live" | "summary" | "full", cwd = ""): Record<string, unknown> {
  let items: Record<string, unknown>[] = [];
  let itemsView = "notLoaded";
  if (view === "live") {
    if (t.status === "completed" && t.agent) {
      items = [agentMessageShape(t.agent)];
      itemsView = "summary";
    }
  } else {
    items = [userMessageShape(t.user)];
    if (view === "full") items.push(...t.commands.map((c) => commandShape(c, cwd)));
    if (t.agent && t.status === "completed") items.push(agentMessageShape(t.agent));
    itemsView = view;
  }
  const live = view === "live" && t.status === "inProgress";
  return {
    id: t.id,
    rootTurnId: t.id,
    items: live ? [] : items,
    itemsView,
    status: t.status,
    error: t.error ? turnErrorShape(t.error) : null,
    startedAt: seconds(t.startedAtMs),
    completedAt: seconds(t.completedAtMs),
    durationMs: t.completedAtMs === null ? null : t.completedAtMs - t.startedAtMs,
  };
}

/** `thread/tokenUsage/updated` params. */
export function tokenUsageParams(
  threadId: string,
  turnId: string,
  total: WireTokenCounts,
  last: WireTokenCounts,
): Record<string, unknown> {
  return {
    threadId,
    turnId,
    tokenUsage: { total: { ...total }, last: { ...last }, modelContextWindow: MODEL_CONTEXT_WINDOW },
  };
}

/** `error` notification params (terminal: willRetry false). */
export function errorParams(
  threadId: string,
  turnId: string,
  e: { message: string; codexErrorInfo: string },
): Record<string, unknown> {
  return { error: turnErrorShape(e), willRetry: false, threadId, turnId };
}

/** `item/commandExecution/requestApproval` params (facts §4). */
export function commandApprovalParams(
  threadId: string,
  turnId: string,
  c: SimCommand,
  cwd: string,
): Record<string, unknown> {
  const argv = c.command.split(/\s+/).filter((s) => s !== "");
  return {
    kind: "command",
    threadId,
    turnId,
    itemId: c.id,
    startedAtMs: c.startedAtMs,
    environmentId: "local",
    command: bashWrapped(c.command),
    cwd,
    commandActions: [{ type: "unknown", command: c.command }],
    proposedExecpolicyAmendment: argv,
    availableDecisions: [
      "accept",
      { acceptWithExecpolicyAmendment: { execpolicy_amendment: argv } },
      "cancel",
    ],
  };
}

/** `item/tool/requestUserInput` params (generated ToolRequestUserInputParams). */
export function userInputParams(
  threadId: string,
  turnId: string,
  itemId: string,
  q: { header: string; question: string; options: readonly string[] },
  questionId: string,
): Record<string, unknown> {
  return {
    threadId,
    turnId,
    itemId,
    questions: [
      {
        id: questionId,
        header: q.header,
        question: q.question,
        isOther: false,
        isSecret: false,
        options: q.options.map((label) => ({ label, description: "" })),
      },
    ],
    isBlocking: true,
    autoResolutionMs: null,
  };
}

/** `thread/readState/changed` / `readStates` value: the first unread turn of the thread. */
export function readStateShape(firstTurnId: string, revision: string): Record<string, unknown> {
  return { firstUnread: { type: "turn", turnId: firstTurnId }, revision };
}

/** Opaque rollout cursor as 0.169.0 formats it for thread/turns/list and thread/resume. */
export function rolloutCursor(
  threadId: string,
  ordinal: number,
  includeAnchor: boolean,
  kind: string,
): string {
  return JSON.stringify({
    requestedThreadId: threadId,
    rolloutOrdinal: ordinal,
    includeAnchor,
    scope: { kind },
  });
}

/** The `thread/resume` result (facts §2; `turns` always empty: the observer sends excludeTurns). */
export function resumeResult(t: SimThread, originator: string): Record<string, unknown> {
  const ordinal = 1 + t.turns.length * 8;
  return {
    thread: threadShape(t, originator),
    model: t.model.model,
    modelProvider: t.model.provider,
    serviceTier: null,
    disabledPluginIds: [],
    cwd: t.cwd,
    runtimeWorkspaceRoots: [t.cwd],
    instructionSources: [],
    approvalPolicy: "on-request",
    approvalsReviewer: "user",
    sandbox: { type: "dangerFullAccess" },
    activePermissionProfile: null,
    reasoningEffort: t.model.reasoningEffort,
    collaborationMode: {
      mode: "default",
      settings: {
        model: t.model.model,
        reasoning_effort: t.model.reasoningEffort,
        developer_instructions: null,
      },
    },
    multiAgentMode: "explicitRequestOnly",
    initialTurnsPage: null,
    turnsBackwardsCursor: rolloutCursor(t.id, ordinal, true, "turns"),
    itemsBackwardsCursor:
      t.turns.length > 0 ? rolloutCursor(t.id, ordinal + 3, true, "itemsByCreatedAtOrdinal") : null,
  };
}

/** `account/rateLimits/updated` params as an unauthenticated 0.169.0 sends them (all null). */
export const RATE_LIMITS = {
  rateLimits: {
    limitId: "codex",
    limitName: null,
    normalModelSlug: null,
    primary: null,
    secondary: null,
    credits: null,
    individualLimit: null,
    spendControlReached: null,
    planType: null,
    rateLimitReachedType: null,
  },
};
