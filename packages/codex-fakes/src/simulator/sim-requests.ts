/**
 * The read-only requests of a simulated app-server (thread/loaded/list, thread/list,
 * thread/turns/list, thread/read): pure functions of the server's threads, paged and ordered the
 * way 0.169.0 does it (cursor formats measured on the real server).
 */
import { readStateShape, rolloutCursor, threadShape, turnShape } from "./shapes.ts";
import type { SimThread } from "./state.ts";

/** A JSON-RPC result or error, before it gets its id; `after` runs once the answer is sent. */
export type RpcOutcome = ({ result: unknown } | { error: { code: number; message: string } }) & {
  after?: () => void;
};

/** JSON-RPC "invalid request", the code 0.169.0 uses for unknown threads and bad params. */
export const INVALID_REQUEST = -32600;

type Params = Record<string, unknown>;

const asParams = (p: unknown): Params => (typeof p === "object" && p !== null ? (p as Params) : {});
const limitOf = (p: Params, fallback: number): number =>
  typeof p.limit === "number" && Number.isInteger(p.limit) && p.limit > 0
    ? Math.min(p.limit, 1000)
    : fallback;
const cursorOf = (p: Params): string | null =>
  typeof p.cursor === "string" && p.cursor !== "" ? p.cursor : null;

/** `thread/loaded/list`: loaded thread ids in id (creation) order; the cursor is the last id of a page. */
export function loadedList(threads: Iterable<SimThread>, params: unknown): RpcOutcome {
  const p = asParams(params);
  const ids = [...threads].filter((t) => t.loaded).map((t) => t.id);
  ids.sort();
  const cursor = cursorOf(p);
  const start = cursor === null ? 0 : ids.findIndex((id) => id > cursor);
  const from = start < 0 ? ids.length : start;
  // "defaults to no limit" (ThreadLoadedListParams)
  const limit = typeof p.limit === "number" && p.limit > 0 ? p.limit : ids.length;
  const data = ids.slice(from, from + limit);
  const more = from + limit < ids.length;
  return { result: { data, nextCursor: more ? (data[data.length - 1] ?? null) : null } };
}

/**
 * `thread/list`: persisted threads, newest first by `sortKey` (default created_at). Cursor
 * `"<ISO time>|<thread id>"` of the last row; `backwardsCursor` the first row's time.
 */
export function threadList(
  threads: Iterable<SimThread>,
  params: unknown,
  originator: string,
  revision: () => string,
): RpcOutcome {
  const p = asParams(params);
  const key = p.sortKey === "updated_at" || p.sortKey === "recency_at" ? "updatedAtMs" : "createdAtMs";
  const ascending = p.sortDirection === "asc";
  const rows = [...threads].filter((t) => t.persisted);
  rows.sort((a, b) => {
    const d = ascending ? a[key] - b[key] : b[key] - a[key];
    return d !== 0 ? d : ascending ? a.id.localeCompare(b.id) : b.id.localeCompare(a.id);
  });
  const cursor = cursorOf(p);
  let from = 0;
  if (cursor !== null) {
    const id = cursor.slice(cursor.lastIndexOf("|") + 1);
    const at = rows.findIndex((t) => t.id === id);
    from = at < 0 ? rows.length : at + 1;
  }
  const limit = limitOf(p, 25);
  const page = rows.slice(from, from + limit);
  const last = page[page.length - 1];
  const first = page[0];
  const readStates: Record<string, unknown> = {};
  for (const t of page) {
    const firstTurn = t.turns[0];
    if (firstTurn) readStates[t.id] = readStateShape(firstTurn.id, revision());
  }
  return {
    result: {
      data: page.map((t) => threadShape(t, originator, true)),
      readStates,
      nextCursor:
        last && from + limit < rows.length ? `${new Date(last[key]).toISOString()}|${last.id}` : null,
      backwardsCursor: first ? new Date(first[key]).toISOString() : null,
    },
  };
}

/** Rollout line of turn `index` (opaque to clients; invertible here). */
const ordinalOf = (index: number): number => 6 + index * 8;
const indexOf = (ordinal: number): number => Math.floor((ordinal - 6) / 8);

/** `thread/turns/list`: stored turns, newest first by default, summary items, no token usage (facts §5). */
export function turnsList(thread: SimThread | undefined, threadId: string, params: unknown): RpcOutcome {
  if (!thread?.persisted) {
    return {
      error: {
        code: INVALID_REQUEST,
        message: `thread ${threadId} is not materialized yet; thread/turns/list is unavailable before first user message`,
      },
    };
  }
  const p = asParams(params);
  const ascending = p.sortDirection === "asc";
  const limit = limitOf(p, 25);
  const turns = thread.turns;
  let start = ascending ? 0 : turns.length - 1;
  const cursor = cursorOf(p);
  if (cursor !== null) {
    try {
      const c = JSON.parse(cursor) as { rolloutOrdinal?: unknown; includeAnchor?: unknown };
      const anchor = typeof c.rolloutOrdinal === "number" ? indexOf(c.rolloutOrdinal) : start;
      start = c.includeAnchor === true ? anchor : ascending ? anchor + 1 : anchor - 1;
    } catch {
      return { error: { code: INVALID_REQUEST, message: `invalid cursor: ${cursor.slice(0, 100)}` } };
    }
  }
  const picked: number[] = [];
  for (let i = start; picked.length < limit && i >= 0 && i < turns.length; i += ascending ? 1 : -1)
    picked.push(i);
  const lastIndex = picked[picked.length - 1];
  const firstIndex = picked[0];
  const step = ascending ? 1 : -1;
  const more = lastIndex !== undefined && lastIndex + step >= 0 && lastIndex + step < turns.length;
  return {
    result: {
      data: picked.map((i) => turnShape(turns[i] as (typeof turns)[number], "summary")),
      nextCursor:
        more && lastIndex !== undefined
          ? rolloutCursor(thread.id, ordinalOf(lastIndex), false, "turns")
          : null,
      backwardsCursor:
        firstIndex === undefined ? null : rolloutCursor(thread.id, ordinalOf(firstIndex), true, "turns"),
    },
  };
}

/** `thread/read`: the thread, with every stored turn in full when `includeTurns` (deprecated but served). */
export function threadRead(
  thread: SimThread | undefined,
  threadId: string,
  params: unknown,
  originator: string,
  revision: () => string,
): RpcOutcome {
  if (!thread) return { error: { code: INVALID_REQUEST, message: `thread not found: ${threadId}` } };
  const p = asParams(params);
  const shape = threadShape(thread, originator);
  if (p.includeTurns === true) shape.turns = thread.turns.map((t) => turnShape(t, "full", thread.cwd));
  // Measured: no read state before the first turn; after an unload the state restarts as "initial".
  const firstTurn = thread.turns[0];
  let readState: unknown = null;
  if (thread.persisted && !thread.loaded) readState = { firstUnread: null, revision: `initial:${thread.id}` };
  else if (firstTurn) readState = readStateShape(firstTurn.id, revision());
  return { result: { thread: shape, readState } };
}
