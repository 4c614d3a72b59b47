/**
 * Bounds on text read off the wire. An app-server is not trusted to keep its strings short: a
 * 4,000-character model name once made Postgres refuse a whole batch (an index row over its
 * 2,704-byte limit) and held up every target's writes. So every string the collector keeps has a
 * stated limit, applied where the frame is parsed:
 *
 * - **Identifiers** (thread, turn, item and request ids) longer than `id` are refused — the frame
 *   is invalid and counted — because cutting two long ids to one prefix would merge two threads.
 *   An optional reference (a turn id on a token report, a server request's thread) that is too
 *   long becomes unknown (null) instead, so the report it rides on still counts.
 * - **Every other text** is cut to its limit and ends in {@link CUT_MARKER}; never refused (a long
 *   model name must not cost the usage it reports). NUL characters, which Postgres text cannot
 *   store, are removed.
 *
 * Key columns stay under the btree limit by construction: ids (≤ 200 characters), model and
 * repository (≤ 200 each) are at most 800 bytes each in UTF-8.
 */
export const WIRE_LIMITS = {
  /** Thread, turn, item and request ids, method names. */
  id: 200,
  model: 200,
  modelProvider: 100,
  /** A working directory (Linux PATH_MAX). */
  cwd: 4096,
  /** A thread's name. */
  name: 1000,
  /** cliVersion, userAgent. */
  version: 200,
  gitBranch: 255,
  gitOriginUrl: 2048,
  gitSha: 100,
  /** A thread's source kind, an item's type, an error kind, an active flag. */
  kind: 100,
  /** An error message (turn errors, `error` notifications, JSON-RPC errors). */
  errorMessage: 2000,
  /** A server request's command (its preview keeps 120 characters). */
  command: 4096,
  /** Active flags a status keeps. */
  activeFlags: 20,
  /** A paging cursor sent back to the server: longer ends paging. */
  cursor: 1000,
  /** A plan limit's id (a key: longer is refused, like an id) and its display name. */
  limitId: 100,
  limitName: 200,
  /** A credits balance (a decimal string). */
  balance: 64,
  /** Plan limits kept per report (`rateLimitsByLimitId` entries past it are dropped). */
  limitsPerReport: 16,
} as const;

/** Ends every text that was cut. */
export const CUT_MARKER = "…[cut]";

/** `text` without NUL characters, at most `max` characters long (ending in CUT_MARKER when cut). */
export function cut(text: string, max: number): string {
  const clean = text.includes("\u0000") ? text.replaceAll("\u0000", "") : text;
  if (clean.length <= max) return clean;
  let end = max - CUT_MARKER.length;
  // Never split a surrogate pair.
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${clean.slice(0, end)}${CUT_MARKER}`;
}
