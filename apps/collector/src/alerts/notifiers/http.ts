/** One JSON POST with a timeout, turned into a `SendResult`. Shared by the notifiers. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { destinationProblem, guardedLookup, type Resolver } from "../../net/destination.ts";
import type { SendResult } from "./types.ts";

/** Statuses worth retrying besides 5xx. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const MAX_ERROR_BODY = 200;

/** `base` + `path`, keeping a path prefix the base may have. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** Retry-After as seconds or an HTTP date → ms from `nowMs`; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

/**
 * `result` with every occurrence of `secrets` in its error replaced by "[redacted]": a receiver's
 * error body may echo what it was sent (a routing key, an API key).
 */
export function redactResult(result: SendResult, secrets: readonly string[]): SendResult {
  if (result.error === null) return result;
  let error = result.error;
  for (const secret of secrets) if (secret !== "") error = error.split(secret).join("[redacted]");
  return error === result.error ? result : { ...result, error };
}

function describeError(err: unknown, timedOut: boolean): string {
  if (timedOut) return "timeout";
  // Only the code (ECONNREFUSED, ENOTFOUND…): a message may name the URL, itself a secret for Slack.
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "EDESTINATION" && err instanceof Error) return err.message;
  if (typeof code === "string" && code !== "ABORT_ERR") return code;
  if (err instanceof Error && err.name === "AbortError") return "aborted";
  return "request failed";
}

/**
 * POST `body` to `url`; never throws. The host is resolved through the destination policy
 * (net/destination.ts) and the request goes to the address that was checked. Redirects are not
 * followed (a 3xx is a failed attempt).
 */
export async function postJson(args: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
  /** `network.allowLinkLocal` (default false). */
  allowLinkLocal?: boolean;
  resolver?: Resolver;
  /** Values that must never appear in the result's error (keys sent in headers or the body). */
  secrets?: readonly string[];
}): Promise<SendResult> {
  return redactResult(await post(args), args.secrets ?? []);
}

async function post(args: Parameters<typeof postJson>[0]): Promise<SendResult> {
  const now = args.now ?? Date.now;
  const started = performance.now();
  const timeout = AbortSignal.timeout(args.timeoutMs);
  const signal = args.signal ? AbortSignal.any([args.signal, timeout]) : timeout;
  const elapsed = () => Math.round(performance.now() - started);
  const policy = { allowLinkLocal: args.allowLinkLocal ?? false };
  const fail = (error: string, retryable: boolean): SendResult => ({
    ok: false,
    status: null,
    error,
    retryable,
    retryAfterMs: null,
    durationMs: elapsed(),
  });
  const problem = destinationProblem(args.url, policy);
  if (problem !== null) return fail(problem, false);
  try {
    const { status, retryAfter, text } = await new Promise<{
      status: number;
      retryAfter: string | null;
      text: string;
    }>((resolve, reject) => {
      const url = new URL(args.url);
      const request = url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = request(
        url,
        {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(args.body)),
            ...args.headers,
          },
          signal,
          lookup: guardedLookup(policy, args.resolver),
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (text.length < MAX_ERROR_BODY) text += chunk;
          });
          res.on("end", () => {
            const header = res.headers["retry-after"];
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: typeof header === "string" ? header : null,
              text,
            });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(args.body);
    });
    if (status >= 200 && status < 300)
      return { ok: true, status, error: null, retryable: false, retryAfterMs: null, durationMs: elapsed() };
    const detail = text.trim().slice(0, MAX_ERROR_BODY);
    return {
      ok: false,
      status,
      error: `HTTP ${status}${detail ? `: ${detail}` : ""}`,
      retryable: status >= 500 || RETRYABLE_STATUSES.has(status),
      retryAfterMs: parseRetryAfter(retryAfter, now()),
      durationMs: elapsed(),
    };
  } catch (err) {
    const aborted = args.signal?.aborted ?? false;
    const refused = (err as { code?: unknown } | null)?.code === "EDESTINATION";
    return fail(describeError(err, timeout.aborted && !aborted), !aborted && !refused);
  }
}
