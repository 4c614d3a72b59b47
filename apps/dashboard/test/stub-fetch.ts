/** Routes `fetch` to canned API answers per path, recording every call. */
import { vi } from "vitest";

/** A canned answer: JSON body and status (200 by default), or a function of the request. */
export type Answer =
  | { status?: number; body?: unknown; delayMs?: number }
  | ((url: URL, init: RequestInit | undefined) => Answer);

export type FetchCall = { method: string; url: URL; body: unknown };

/** Error body in the API's shape. */
export function apiError(status: number, code: string, message: string): Answer {
  return { status, body: { error: { code, message } } };
}

/** A promise that never settles: a request stuck in flight (loading states). */
export const PENDING: Answer = { delayMs: Number.POSITIVE_INFINITY };

/**
 * Installs a fetch stub. Keys are "METHOD /path" (query ignored); unknown paths answer 404 in
 * the API's error shape, like the collector does.
 */
export function stubFetch(routes: Record<string, Answer>) {
  const calls: FetchCall[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://dashboard.test");
    const method = (init?.method ?? "GET").toUpperCase();
    calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    let answer: Answer =
      routes[`${method} ${url.pathname}`] ?? apiError(404, "not_found", `no route ${method} ${url.pathname}`);
    while (typeof answer === "function") answer = answer(url, init);
    if (answer.delayMs === Number.POSITIVE_INFINITY) return new Promise<Response>(() => {});
    const status = answer.status ?? 200;
    const text = answer.body === undefined ? "" : JSON.stringify(answer.body);
    return new Response(status === 204 ? null : text, {
      status,
      headers: { "content-type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    calls,
    /** Calls whose path is `path` (and method, default GET). */
    callsTo(path: string, method = "GET") {
      return calls.filter((call) => call.url.pathname === path && call.method === method);
    },
  };
}
