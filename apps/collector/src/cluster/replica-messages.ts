/**
 * The replication wire format (pure): what the instance that follows a target publishes over
 * NOTIFY, packed into payloads Postgres accepts, and read back defensively (a newer collector on
 * the same database may send kinds this one does not know: they are skipped).
 *
 * A payload is `{"v":1,"from":<instance>,"m":[…messages]}`. A message too large for one payload
 * (a thread with long strings) goes as its "re-read" form instead: the receiver reads the row
 * from the database, which the follower writes.
 */
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { type LimitRow, LimitRowSchema } from "@codex-fleet/protocol/limits";
import type { RemoteTargetState } from "../fleet/fleet.ts";
import type { ThreadState } from "../ingest/thread-state.ts";

/** One change, newest state wins (each is a whole state, never a delta). */
export type ReplicaMessage =
  | { k: "thread"; state: ThreadState }
  /** The thread changed; its state did not fit a payload: re-read the row. */
  | { k: "thread?"; id: string }
  | { k: "target"; name: string; state: RemoteTargetState }
  /** The target changed; re-read its row. */
  | { k: "target?"; name: string }
  | { k: "usage"; threadId: string; targetId: string; atMs: number; totalTokens: number }
  /** A plan-limit row changed (issue 14): the row as GET /api/v1/limits serves it. */
  | { k: "limits"; row: LimitRow }
  /** A failed turn (the alert rule `turnFailed` counts these events; its error message cut). */
  | { k: "failed"; targetId: string; event: FailedTurnEvent }
  /** API-managed targets changed: reload their definitions. */
  | { k: "managed" }
  /** Alert state changed in the database (the leader's transitions, an acknowledgement, a silence): re-read it. */
  | { k: "alerts" }
  /** Price overrides stored in the database changed (issue 17): reload them. */
  | { k: "prices" };

export type FailedTurnEvent = Extract<FleetEvent, { kind: "turnCompleted" }>;

/** The failed-turn message of `event`, or null for any other event. */
export function failedTurnMessage(targetId: string, event: FleetEvent): ReplicaMessage | null {
  if (event.kind !== "turnCompleted" || event.turn.status !== "failed") return null;
  const error = event.turn.error;
  return {
    k: "failed",
    targetId,
    event: {
      ...event,
      turn: { ...event.turn, error: error ? { ...error, message: error.message.slice(0, 1000) } : null },
    },
  };
}

export interface ReplicaEnvelope {
  v: 1;
  from: string;
  m: ReplicaMessage[];
}

const byteLength = (s: string) => Buffer.byteLength(s, "utf8");

/** The "re-read" form of a message too large to send whole (small kinds are their own). */
export function rereadForm(m: ReplicaMessage): ReplicaMessage {
  if (m.k === "thread") return { k: "thread?", id: m.state.id };
  if (m.k === "target") return { k: "target?", name: m.name };
  return m;
}

const headOf = (from: string) => `{"v":1,"from":${JSON.stringify(from)},"m":[`;

/** True when `message` alone would not fit one payload: it goes in its re-read form. */
export function oversized(from: string, message: ReplicaMessage, maxBytes: number): boolean {
  return byteLength(headOf(from)) + byteLength(JSON.stringify(message)) + 2 > maxBytes;
}

/**
 * Pack `messages` in order into as few payloads as fit `maxBytes` each (UTF-8). A message that
 * alone would not fit goes in its re-read form.
 */
export function packMessages(from: string, messages: readonly ReplicaMessage[], maxBytes: number): string[] {
  const head = headOf(from);
  const tail = "]}";
  const room = maxBytes - byteLength(head) - byteLength(tail);
  const payloads: string[] = [];
  let parts: string[] = [];
  let used = 0;
  for (const message of messages) {
    let json = JSON.stringify(message);
    if (byteLength(json) > room) json = JSON.stringify(rereadForm(message));
    const size = byteLength(json);
    if (size > room) continue; // only an absurd instance name gets here: nothing could be sent
    const extra = parts.length === 0 ? size : size + 1;
    if (used + extra > room) {
      payloads.push(head + parts.join(",") + tail);
      parts = [];
      used = 0;
    }
    used += parts.length === 0 ? size : size + 1;
    parts.push(json);
  }
  if (parts.length > 0) payloads.push(head + parts.join(",") + tail);
  return payloads;
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);
const isString = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= 1000;
const isNum = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);
const isNumOrNull = (x: unknown) => x === null || isNum(x);

/**
 * Read one payload: its sender and the messages this version understands. Malformed payloads
 * and messages are dropped (null / skipped), never thrown.
 */
export function readPayload(payload: string): { from: string; messages: ReplicaMessage[] } | null {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!isObject(raw) || raw.v !== 1 || !isString(raw.from) || !Array.isArray(raw.m)) return null;
  const messages: ReplicaMessage[] = [];
  for (const m of raw.m) {
    const message = readMessage(m);
    if (message) messages.push(message);
  }
  return { from: raw.from, messages };
}

function readMessage(m: unknown): ReplicaMessage | null {
  if (!isObject(m)) return null;
  switch (m.k) {
    case "thread": {
      const s = m.state;
      if (!isObject(s) || !isString(s.id) || !isString(s.targetId) || typeof s.status !== "string")
        return null;
      if (!Array.isArray(s.activeFlags) || !Array.isArray(s.pendingRequests) || !isNum(s.statusSinceMs))
        return null;
      return { k: "thread", state: s as unknown as ThreadState };
    }
    case "thread?":
      return isString(m.id) ? { k: "thread?", id: m.id } : null;
    case "target": {
      const s = m.state;
      if (!isString(m.name) || !isObject(s) || !isObject(s.status)) return null;
      const st = s.status;
      if (typeof st.state !== "string" || !isNum(st.sinceMs)) return null;
      if (![s.lastEventAtMs, s.lastContactAtMs, s.connectedSinceMs].every(isNumOrNull)) return null;
      return { k: "target", name: m.name, state: s as unknown as RemoteTargetState };
    }
    case "target?":
      return isString(m.name) ? { k: "target?", name: m.name } : null;
    case "usage":
      if (!isString(m.threadId) || !isString(m.targetId) || !isNum(m.atMs) || !isNum(m.totalTokens))
        return null;
      return {
        k: "usage",
        threadId: m.threadId,
        targetId: m.targetId,
        atMs: m.atMs,
        totalTokens: m.totalTokens,
      };
    case "failed": {
      const e = m.event;
      if (!isString(m.targetId) || !isObject(e) || e.kind !== "turnCompleted" || !isString(e.threadId))
        return null;
      if (!isNum(e.atMs) || !isObject(e.turn) || !isString(e.turn.id) || e.turn.status !== "failed")
        return null;
      const error = e.turn.error;
      if (error !== null && !(isObject(error) && typeof error.message === "string")) return null;
      return { k: "failed", targetId: m.targetId, event: e as unknown as FailedTurnEvent };
    }
    case "limits": {
      // The row is what the live feed sends browsers: it must be exactly the API's shape.
      const row = LimitRowSchema.safeParse(m.row);
      return row.success ? { k: "limits", row: row.data } : null;
    }
    case "managed":
      return { k: "managed" };
    case "alerts":
      return { k: "alerts" };
    case "prices":
      return { k: "prices" };
    default:
      return null; // a kind of a newer version
  }
}
