/**
 * Turns one WebSocket text frame from a codex app-server into a classified message: a response to
 * one of our requests, a domain event (notification or server request), or an invalid frame with
 * a reason. Never throws: a hostile or newer server cannot crash the caller.
 */
import type { z } from "zod";
import { cut, WIRE_LIMITS } from "./bounds.ts";
import type {
  FleetEvent,
  ItemInfo,
  ServerRequestKind,
  SubAgentInfo,
  ThreadGoal,
  ThreadInfo,
  ThreadStatus,
  TokenCounts,
  TurnError,
  TurnInfo,
} from "./events.ts";
import { SERVER_REQUEST_KINDS } from "./events.ts";
import { isEmptyReport, rateLimitsUpdatedReports } from "./rate-limits-wire.ts";
import { ACTIVE_FLAGS, TURN_STATUSES, unknownVariant, unknownVariantName } from "./status.ts";
import {
  type CodexErrorInfoSchema,
  IGNORED_METHODS,
  NotificationParams,
  RequestIdSchema,
  ServerRequestParamsSchema,
  type ThreadGoalSchema,
  type ThreadSchema,
  type ThreadStatusSchema,
  type TokenUsageBreakdownSchema,
  type TurnErrorSchema,
  type TurnSchema,
} from "./wire.ts";

export type Frame =
  | {
      type: "response";
      id: number | string;
      result: unknown;
      error: { code: number; message: string } | null;
    }
  | { type: "event"; event: FleetEvent }
  | { type: "invalid"; reason: string; method: string | null };

const MAX_PREVIEW_CHARS = 120;

/** Classify and normalize one frame. `receivedAtMs` stands in when the server sent no `emittedAtMs`. */
export function normalizeFrame(data: string, receivedAtMs: number): Frame {
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return { type: "invalid", reason: "malformed JSON", method: null };
  }
  return normalizeMessage(msg, receivedAtMs);
}

/** Same as normalizeFrame for an already parsed JSON value. */
export function normalizeMessage(msg: unknown, receivedAtMs: number): Frame {
  if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
    return { type: "invalid", reason: "frame is not a JSON object", method: null };
  }
  const m = msg as Record<string, unknown>;
  // A method name is kept (counted, shown) under the id limit; the full one is only matched.
  const rawMethod = typeof m.method === "string" ? m.method : null;
  const method = rawMethod === null ? null : cut(rawMethod, WIRE_LIMITS.id);
  const hasId = m.id !== undefined && m.id !== null;
  if (m.method !== undefined && method === null)
    return { type: "invalid", reason: "method is not a string", method: null };
  const emitted = m.emittedAtMs;
  const atMs =
    typeof emitted === "number" && Number.isFinite(emitted) && emitted > 0 ? emitted : receivedAtMs;

  if (method === null) {
    if (!hasId) return { type: "invalid", reason: "neither method nor id", method: null };
    return toResponse(m);
  }
  if (hasId) return toServerRequest(m, method, atMs);
  return toNotification(rawMethod as string, method, m.params, atMs);
}

function toResponse(m: Record<string, unknown>): Frame {
  const id = RequestIdSchema.safeParse(m.id);
  if (!id.success) return { type: "invalid", reason: "response id is not a string or integer", method: null };
  if (m.error !== undefined && m.error !== null) {
    const e = m.error as Record<string, unknown>;
    const code = typeof e.code === "number" ? e.code : -32603;
    const message =
      typeof e.message === "string" ? cut(e.message, WIRE_LIMITS.errorMessage) : "error without message";
    return { type: "response", id: id.data, result: null, error: { code, message } };
  }
  return { type: "response", id: id.data, result: m.result ?? null, error: null };
}

/** A server request's kind by its method; an unknown method is kept as `unknown:<method>` (cut). */
export function serverRequestKind(method: string): ServerRequestKind {
  return Object.hasOwn(SERVER_REQUEST_KINDS, method)
    ? (SERVER_REQUEST_KINDS[method] as ServerRequestKind)
    : unknownVariant(method);
}

function toServerRequest(m: Record<string, unknown>, method: string, atMs: number): Frame {
  const id = RequestIdSchema.safeParse(m.id);
  if (!id.success) return { type: "invalid", reason: "server request id is not a string or integer", method };
  // Parse leniently: an unparseable params object still yields a recorded request (never answered).
  const p = ServerRequestParamsSchema.safeParse(m.params);
  const params = p.success ? p.data : null;
  const command = params?.command;
  const preview =
    command == null
      ? null
      : (Array.isArray(command) ? command.join(" ") : command).slice(0, MAX_PREVIEW_CHARS);
  return {
    type: "event",
    event: {
      kind: "serverRequest",
      atMs,
      requestId: id.data,
      method,
      requestKind: serverRequestKind(method),
      threadId: params?.threadId ?? params?.conversationId ?? null,
      turnId: params?.turnId ?? null,
      itemId: params?.itemId ?? params?.callId ?? null,
      preview,
    },
  };
}

function toNotification(rawMethod: string, method: string, rawParams: unknown, atMs: number): Frame {
  if (!Object.hasOwn(NotificationParams, rawMethod)) {
    const kind = IGNORED_METHODS.has(rawMethod) ? "ignored" : "unknown";
    return { type: "event", event: { kind, atMs, method } };
  }
  const fast = fastNotification(method, rawParams, atMs);
  return fast ? { type: "event", event: fast } : zodNotification(method, rawParams, atMs);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
/** wire.ts `Id`. */
const isId = (v: unknown): v is string =>
  typeof v === "string" && v.length >= 1 && v.length <= WIRE_LIMITS.id && !v.includes("\u0000");
/** wire.ts `OptRef`: never refuses (an unusable reference is unknown). */
const optRef = (v: unknown): string | null => (isId(v) ? v : null);
/** wire.ts `Count`. */
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** wire.ts `TokenUsageBreakdownSchema`, normalized as toCounts; null when the schema would refuse it. */
function fastCounts(b: unknown): TokenCounts | null {
  if (!isObj(b)) return null;
  const {
    inputTokens,
    cachedInputTokens,
    cacheWriteInputTokens,
    outputTokens,
    reasoningOutputTokens,
    totalTokens,
  } = b;
  if (
    !isCount(inputTokens) ||
    !isCount(cachedInputTokens) ||
    !isCount(outputTokens) ||
    !isCount(reasoningOutputTokens) ||
    !isCount(totalTokens) ||
    (cacheWriteInputTokens !== undefined && !isCount(cacheWriteInputTokens))
  )
    return null;
  return {
    inputTokens,
    cachedInputTokens,
    cacheWriteInputTokens: cacheWriteInputTokens ?? 0,
    outputTokens,
    reasoningOutputTokens,
    totalTokens,
  };
}

/**
 * The hottest notifications (item lifecycles, token usage and plan limits: most of a turn's frames) validated
 * without the general-purpose zod path, which took about half of the main thread's frame handling
 * (bench scenario 2). Each check accepts a subset of what the method's schema accepts and builds
 * the event that schema's path builds; anything else returns null and goes through zod, which
 * decides — so what is refused, and why, is zod's answer by construction
 * (test/normalize-fast.test.ts compares both on a table and on generated params).
 */
export function fastNotification(method: string, p: unknown, atMs: number): FleetEvent | null {
  // One per model response: its schema is a record of anything, which zod copies key by key.
  if (method === "account/rateLimits/updated")
    return isObj(p) && isObj(p.rateLimits) ? rateLimitsEvent(p, atMs) : null;
  if (!isObj(p) || !isId(p.threadId)) return null;
  switch (method) {
    case "item/started":
    case "item/completed": {
      const item = p.item;
      if (!isObj(item) || !isId(item.id) || typeof item.type !== "string") return null;
      return {
        kind: method === "item/started" ? "itemStarted" : "itemCompleted",
        atMs,
        threadId: p.threadId,
        turnId: optRef(p.turnId),
        item: {
          id: item.id,
          type: cut(item.type, WIRE_LIMITS.kind),
          status: typeof item.status === "string" ? cut(item.status, WIRE_LIMITS.kind) : null,
        },
      };
    }
    case "thread/tokenUsage/updated": {
      const u = p.tokenUsage;
      if (!isObj(u)) return null;
      const window = u.modelContextWindow;
      if (window != null && !isCount(window)) return null;
      const total = fastCounts(u.total);
      const last = total && fastCounts(u.last);
      if (!total || !last) return null;
      return {
        kind: "tokenUsage",
        atMs,
        threadId: p.threadId,
        turnId: optRef(p.turnId),
        total,
        last,
        modelContextWindow: window ?? null,
      };
    }
    case "turn/started":
    case "turn/completed": {
      const t = p.turn;
      if (!isObj(t) || !isId(t.id) || !isKnown(TURN_STATUSES, t.status) || t.error != null) return null;
      const { startedAt, completedAt, durationMs } = t;
      if (!isOptNum(startedAt) || !isOptNum(completedAt) || !isOptNum(durationMs)) return null;
      return {
        kind: method === "turn/started" ? "turnStarted" : "turnCompleted",
        atMs,
        threadId: p.threadId,
        turn: {
          id: t.id,
          status: t.status,
          error: null,
          startedAtMs: secondsToMs(startedAt),
          completedAtMs: secondsToMs(completedAt),
          durationMs: durationMs ?? null,
        },
      };
    }
    case "thread/status/changed": {
      const st = p.status;
      if (!isObj(st)) return null;
      if (st.type === "idle" || st.type === "notLoaded" || st.type === "systemError")
        return {
          kind: "threadStatus",
          atMs,
          threadId: p.threadId,
          status: { type: st.type, activeFlags: [] },
        };
      if (st.type !== "active") return null;
      // zod's `.default([])` stands in for an absent list only: null is refused.
      const flags = st.activeFlags === undefined ? [] : st.activeFlags;
      if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string")) return null;
      return {
        kind: "threadStatus",
        atMs,
        threadId: p.threadId,
        status: {
          type: "active",
          activeFlags: flags.map((f: string) => cut(f, WIRE_LIMITS.kind)).slice(0, WIRE_LIMITS.activeFlags),
        },
      };
    }
    default:
      return null;
  }
}

const isKnown = <T extends string>(known: readonly T[], v: unknown): v is T =>
  typeof v === "string" && (known as readonly string[]).includes(v);
/** wire.ts `OptNum`. */
const isOptNum = (v: unknown): v is number | null | undefined =>
  v == null || (typeof v === "number" && Number.isFinite(v));

/** A consumed notification through its zod schema (the general path; also the fast path's reference). */
export function zodNotification(method: string, rawParams: unknown, atMs: number): Frame {
  const schema = NotificationParams[method as keyof typeof NotificationParams];
  const parsed = schema.safeParse(rawParams);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `params.${issue.path.join(".")}` : "params";
    return { type: "invalid", reason: `${where}: ${issue?.message ?? "invalid"}`, method };
  }
  const event = buildEvent(method as keyof typeof NotificationParams, parsed.data, atMs);
  return { type: "event", event };
}

// biome-ignore lint/suspicious/noExplicitAny: params were validated by the method's schema just above
function buildEvent(method: keyof typeof NotificationParams, p: any, atMs: number): FleetEvent {
  switch (method) {
    case "thread/started":
      return { kind: "threadStarted", atMs, thread: toThreadInfo(p.thread) };
    case "thread/status/changed":
      return { kind: "threadStatus", atMs, threadId: p.threadId, status: toStatus(p.status) };
    case "thread/closed":
      return { kind: "threadClosed", atMs, threadId: p.threadId };
    case "thread/name/updated":
      return { kind: "threadNameUpdated", atMs, threadId: p.threadId, name: p.threadName ?? null };
    case "thread/goal/updated":
      return { kind: "threadGoalUpdated", atMs, threadId: p.threadId, goal: toGoal(p.goal) };
    case "thread/goal/cleared":
      return { kind: "threadGoalCleared", atMs, threadId: p.threadId };
    case "turn/started":
      return { kind: "turnStarted", atMs, threadId: p.threadId, turn: toTurnInfo(p.turn) };
    case "turn/completed":
      return { kind: "turnCompleted", atMs, threadId: p.threadId, turn: toTurnInfo(p.turn) };
    case "thread/tokenUsage/updated":
      return {
        kind: "tokenUsage",
        atMs,
        threadId: p.threadId,
        turnId: p.turnId ?? null,
        total: toCounts(p.tokenUsage.total),
        last: toCounts(p.tokenUsage.last),
        modelContextWindow: p.tokenUsage.modelContextWindow ?? null,
      };
    case "error":
      return {
        kind: "error",
        atMs,
        threadId: p.threadId,
        turnId: p.turnId ?? null,
        error: toTurnError(p.error),
        willRetry: p.willRetry,
      };
    case "model/rerouted":
      return {
        kind: "modelRerouted",
        atMs,
        threadId: p.threadId,
        turnId: p.turnId ?? null,
        fromModel: p.fromModel,
        toModel: p.toModel,
      };
    case "item/started":
    case "item/completed":
      return {
        kind: method === "item/started" ? "itemStarted" : "itemCompleted",
        atMs,
        threadId: p.threadId,
        turnId: p.turnId ?? null,
        item: toItemInfo(p.item),
      };
    case "serverRequest/resolved":
      return { kind: "serverRequestResolved", atMs, threadId: p.threadId ?? null, requestId: p.requestId };
    case "account/rateLimits/updated":
      return rateLimitsEvent(p, atMs);
  }
}

/** `account/rateLimits/updated` params → its event (reports that say nothing are left out). */
function rateLimitsEvent(p: unknown, atMs: number): FleetEvent {
  return { kind: "rateLimits", atMs, reports: rateLimitsUpdatedReports(p).filter((r) => !isEmptyReport(r)) };
}

/** Normalize a wire Thread (from thread/started, thread/list, thread/read). Drops the preview (prompt text). */
export function toThreadInfo(t: z.infer<typeof ThreadSchema>): ThreadInfo {
  return {
    id: t.id,
    model: t.model ?? null,
    modelProvider: t.modelProvider ?? null,
    cwd: t.cwd ?? null,
    gitBranch: t.gitInfo?.branch ?? null,
    gitOrigin: t.gitInfo?.originUrl ?? null,
    source: sourceName(t.source),
    name: t.name ?? null,
    cliVersion: t.cliVersion ?? null,
    status: t.status ? toStatus(t.status) : { type: "notLoaded", activeFlags: [] },
    createdAtMs: secondsToMs(t.createdAt),
    updatedAtMs: secondsToMs(t.updatedAt),
    ...lineageOf(t.id, t.parentThreadId ?? null, t.source),
  };
}

/** Normalize a wire ThreadGoal (seconds → ms). */
export function toGoal(g: z.infer<typeof ThreadGoalSchema>): ThreadGoal {
  return {
    status: g.status,
    tokenBudget: g.tokenBudget ?? null,
    tokensUsed: g.tokensUsed ?? null,
    updatedAtMs: secondsToMs(g.updatedAt),
  };
}

/** Normalize a wire Turn (from turn/*, thread/turns/list). Codex reports seconds; we use ms. */
export function toTurnInfo(t: z.infer<typeof TurnSchema>): TurnInfo {
  return {
    id: t.id,
    status: t.status,
    error: t.error ? toTurnError(t.error) : null,
    startedAtMs: secondsToMs(t.startedAt),
    completedAtMs: secondsToMs(t.completedAt),
    durationMs: t.durationMs ?? null,
  };
}

export function toStatus(s: z.infer<typeof ThreadStatusSchema>): ThreadStatus {
  return { type: s.type, activeFlags: s.type === "active" ? s.activeFlags : [] };
}

function toCounts(b: z.infer<typeof TokenUsageBreakdownSchema>): TokenCounts {
  return {
    inputTokens: b.inputTokens,
    cachedInputTokens: b.cachedInputTokens,
    cacheWriteInputTokens: b.cacheWriteInputTokens ?? 0,
    outputTokens: b.outputTokens,
    reasoningOutputTokens: b.reasoningOutputTokens,
    totalTokens: b.totalTokens,
  };
}

function toTurnError(e: z.infer<typeof TurnErrorSchema>): TurnError {
  const { name, httpStatusCode } = flattenCodexErrorInfo(e.codexErrorInfo);
  return { message: e.message, codexErrorInfo: name, httpStatusCode };
}

/** `"internalServerError"` → itself; `{responseStreamDisconnected:{httpStatusCode:502}}` → name + 502. */
export function flattenCodexErrorInfo(info: z.infer<typeof CodexErrorInfoSchema>): {
  name: string | null;
  httpStatusCode: number | null;
} {
  if (info == null) return { name: null, httpStatusCode: null };
  if (typeof info === "string") return { name: info, httpStatusCode: null };
  const key = Object.keys(info)[0];
  if (key === undefined) return { name: null, httpStatusCode: null };
  const inner = info[key];
  const code =
    typeof inner === "object" &&
    inner !== null &&
    typeof (inner as Record<string, unknown>).httpStatusCode === "number"
      ? ((inner as Record<string, unknown>).httpStatusCode as number)
      : null;
  return { name: cut(key, WIRE_LIMITS.kind), httpStatusCode: code };
}

function toItemInfo(item: { id: string; type: string; status: unknown }): ItemInfo {
  return {
    id: item.id,
    type: item.type,
    status: typeof item.status === "string" ? cut(item.status, WIRE_LIMITS.kind) : null,
  };
}

function sourceName(source: unknown): string | null {
  if (typeof source === "string") return source;
  if (typeof source === "object" && source !== null) {
    const key = Object.keys(source)[0];
    return key === undefined ? null : cut(key, WIRE_LIMITS.kind);
  }
  return null;
}

/** The sub-agent kinds of app-server's `SubAgentSource` (snake_case on the wire, inside `source.subAgent`). */
export const SUB_AGENT_KINDS = [
  "thread_spawn",
  "review",
  "compact",
  "memory_consolidation",
  "other",
] as const;
/** The deepest spawn depth kept; a larger (or non-integer) `depth` is unknown (null). */
export const MAX_SUB_AGENT_DEPTH = 1_000_000;

/**
 * A thread's place in a sub-agent tree, from `parentThreadId` and `source: {subAgent: …}`:
 * `"review"`, `{"thread_spawn": {parent_thread_id, depth, …}}`, `{"other": "…"}`, … (app-server
 * v2 `SessionSource::SubAgent(SubAgentSource)`). The parent is `parentThreadId`, else the spawn's
 * `parent_thread_id`; one that is not a usable id (too long, NUL, empty) or names the thread itself
 * is unknown (null). An unknown kind is kept as `unknown:<name>`. Nothing here is trusted to be
 * acyclic or shallow: the reads that walk parents bound their walk.
 */
export function lineageOf(
  threadId: string,
  parentThreadId: string | null,
  source: unknown,
): { parentThreadId: string | null; subAgent: SubAgentInfo | null } {
  const sub =
    typeof source === "object" && source !== null ? (source as Record<string, unknown>).subAgent : undefined;
  let subAgent: SubAgentInfo | null = null;
  let spawnParent: unknown = null;
  if (typeof sub === "string") subAgent = { kind: subAgentKind(sub), depth: null };
  else if (typeof sub === "object" && sub !== null) {
    const key = Object.keys(sub)[0];
    if (key !== undefined) {
      const inner = (sub as Record<string, unknown>)[key];
      const fields = typeof inner === "object" && inner !== null ? (inner as Record<string, unknown>) : {};
      const depth = fields.depth;
      subAgent = {
        kind: subAgentKind(key),
        depth:
          typeof depth === "number" && Number.isInteger(depth) && depth >= 0 && depth <= MAX_SUB_AGENT_DEPTH
            ? depth
            : null,
      };
      if (key === "thread_spawn") spawnParent = fields.parent_thread_id;
    }
  }
  const usable = (id: unknown): id is string =>
    typeof id === "string" &&
    id.length > 0 &&
    id.length <= WIRE_LIMITS.id &&
    !id.includes("\u0000") &&
    id !== threadId;
  const parent = usable(parentThreadId) ? parentThreadId : usable(spawnParent) ? spawnParent : null;
  return { parentThreadId: parent, subAgent };
}

function subAgentKind(name: string): string {
  return (SUB_AGENT_KINDS as readonly string[]).includes(name) ? name : unknownVariant(name);
}

function secondsToMs(s: number | null | undefined): number | null {
  return typeof s === "number" && Number.isFinite(s) ? Math.round(s * 1000) : null;
}

/** One enum value an event carries that this version does not know. */
export interface UnknownVariantUse {
  field: "threadStatus" | "turnStatus" | "requestKind" | "activeFlag" | "goalStatus";
  /** The name as sent (cut), without the `unknown:` prefix. */
  value: string;
}

/** The unknown variants `event` carries (to be counted; the event itself is kept as usual). */
export function unknownVariantsOf(event: FleetEvent): UnknownVariantUse[] {
  const out: UnknownVariantUse[] = [];
  const status = (s: ThreadStatus) => {
    const name = unknownVariantName(s.type);
    if (name !== null) out.push({ field: "threadStatus", value: name });
    for (const flag of s.activeFlags)
      if (!(ACTIVE_FLAGS as readonly string[]).includes(flag)) out.push({ field: "activeFlag", value: flag });
  };
  switch (event.kind) {
    case "threadStarted":
      status(event.thread.status);
      break;
    case "threadStatus":
      status(event.status);
      break;
    case "turnStarted":
    case "turnCompleted": {
      const name = unknownVariantName(event.turn.status);
      if (name !== null) out.push({ field: "turnStatus", value: name });
      break;
    }
    case "threadGoalUpdated": {
      const name = unknownVariantName(event.goal.status);
      if (name !== null) out.push({ field: "goalStatus", value: name });
      break;
    }
    case "serverRequest": {
      const name = unknownVariantName(event.requestKind);
      if (name !== null) out.push({ field: "requestKind", value: name });
      break;
    }
  }
  return out;
}
