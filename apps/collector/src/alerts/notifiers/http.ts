/** One JSON POST with a timeout, turned into a `SendResult`. Shared by the notifiers. */
import type { SendResult } from "./types.ts";

/** Statuses worth retrying besides 5xx. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const MAX_ERROR_BODY = 200;

/** Retry-After as seconds or an HTTP date → ms from `nowMs`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

function describeFetchError(err: unknown, timedOut: boolean): string {
  if (timedOut) return "timeout";
  // undici wraps the socket error in `cause` (ECONNREFUSED, ENOTFOUND…); its message may name the
  // URL, so only the code is kept.
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (err instanceof Error && err.name === "AbortError") return "aborted";
  return "request failed";
}

/** POST `body` to `url`; never throws. */
export async function postJson(args: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
}): Promise<SendResult> {
  const now = args.now ?? Date.now;
  const started = performance.now();
  const timeout = AbortSignal.timeout(args.timeoutMs);
  const signal = args.signal ? AbortSignal.any([args.signal, timeout]) : timeout;
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(args.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...args.headers },
      body: args.body,
      signal,
      redirect: "error",
    });
    const text = await res.text().catch(() => "");
    if (res.ok)
      return {
        ok: true,
        status: res.status,
        error: null,
        retryable: false,
        retryAfterMs: null,
        durationMs: elapsed(),
      };
    const detail = text.trim().slice(0, MAX_ERROR_BODY);
    return {
      ok: false,
      status: res.status,
      error: `HTTP ${res.status}${detail ? `: ${detail}` : ""}`,
      retryable: res.status >= 500 || RETRYABLE_STATUSES.has(res.status),
      retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now()),
      durationMs: elapsed(),
    };
  } catch (err) {
    const aborted = args.signal?.aborted ?? false;
    return {
      ok: false,
      status: null,
      error: describeFetchError(err, timeout.aborted && !aborted),
      retryable: !aborted,
      retryAfterMs: null,
      durationMs: elapsed(),
    };
  }
}
