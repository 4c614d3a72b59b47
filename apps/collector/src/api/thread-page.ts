/**
 * Paging of GET /api/v1/threads: a stable order (newest event first, then id) and an opaque
 * cursor naming the last row of a page, so that pages never overlap however large the fleet.
 */

import { badParam } from "../http/errors.ts";
import { optString } from "../http/params.ts";
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

/** The `cursor` parameter: a value of `X-Next-Cursor` from an earlier page. */
export function optThreadCursor(q: Record<string, unknown>, name: string): ThreadKey | undefined {
  const v = optString(q, name, 400);
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(v)) throw new Error("not base64url");
    parsed = JSON.parse(Buffer.from(v, "base64url").toString("utf8"));
  } catch {
    throw badParam(
      name,
      "is not a cursor this API returned (use the X-Next-Cursor header of the previous page)",
    );
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !(parsed[0] === null || (typeof parsed[0] === "number" && Number.isFinite(parsed[0]))) ||
    typeof parsed[1] !== "string" ||
    parsed[1].length === 0 ||
    parsed[1].length > 200
  )
    throw badParam(
      name,
      "is not a cursor this API returned (use the X-Next-Cursor header of the previous page)",
    );
  return { lastEventAtMs: parsed[0], id: parsed[1] };
}
