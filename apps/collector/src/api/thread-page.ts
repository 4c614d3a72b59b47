/**
 * Paging of GET /api/v1/threads: a stable order (newest event first, then id) and an opaque
 * cursor naming the last row of a page, so that pages never overlap however large the fleet.
 */

import { refuse, text } from "../http/params.ts";
import type { ThreadState } from "../ingest/thread-state.ts";

export const DEFAULT_THREAD_PAGE = 500;
export const MAX_THREAD_PAGE = 5000;

/** The position of a thread in the list order. */
export interface ThreadKey {
  lastEventAtMs: number | null;
  id: string;
}

/** < 0 when `a` comes first: newest event first (no event last), then by id. */
export function threadOrder(a: ThreadKey, b: ThreadKey): number {
  const d = (b.lastEventAtMs ?? -1) - (a.lastEventAtMs ?? -1);
  if (d !== 0) return d;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function encodeThreadCursor(t: ThreadState): string {
  return Buffer.from(JSON.stringify([t.lastEventAtMs, t.id])).toString("base64url");
}

const NOT_A_CURSOR = "is not a cursor this API returned (use the X-Next-Cursor header of the previous page)";

/** Decode a value of `X-Next-Cursor`; null when it is not one this API returned. */
function decodeThreadCursor(v: string): ThreadKey | null {
  if (!/^[A-Za-z0-9_-]+$/.test(v)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(v, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !(parsed[0] === null || (typeof parsed[0] === "number" && Number.isFinite(parsed[0]))) ||
    typeof parsed[1] !== "string" ||
    parsed[1].length === 0 ||
    parsed[1].length > 200
  )
    return null;
  return { lastEventAtMs: parsed[0], id: parsed[1] };
}

/** The `cursor` parameter: a value of `X-Next-Cursor` from an earlier page, decoded. */
export const threadCursorParam = text(400)
  .transform((v, ctx) => {
    return decodeThreadCursor(v) ?? refuse(ctx, NOT_A_CURSOR);
  })
  .optional()
  .describe("The previous page's x-next-cursor");
