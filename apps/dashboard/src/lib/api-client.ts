/** Thin fetch wrapper for the collector's HTTP API: JSON in, JSON out, typed errors. */
import { ApiErrorSchema } from "@codex-fleet/protocol/api";

/** A failed API call: HTTP status plus the API's `{error:{code,message,param}}` when it sent one. */
export class ApiRequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly param: string | undefined;

  constructor(status: number, code: string, message: string, param?: string) {
    super(message);
    this.name = "ApiRequestError";
    this.status = status;
    this.code = code;
    this.param = param;
  }

  /** True for "this endpoint (or object) does not exist here", e.g. alerts not enabled. */
  get isNotFound(): boolean {
    return this.status === 404;
  }
}

/** Fired on `window` when an API call answers 401: the session is gone (auth/AuthGate.tsx). */
export const UNAUTHORIZED_EVENT = "codex-fleet:unauthorized";

/** GET/POST/DELETE a JSON endpoint under the same origin; throws ApiRequestError on failure. */
export async function apiFetch<T>(
  path: string,
  init: { method?: "GET" | "POST" | "DELETE"; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers:
        init.body === undefined
          ? { accept: "application/json" }
          : { "content-type": "application/json", accept: "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiRequestError(0, "network", "The collector did not answer (network error).");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/v1/auth/"))
      window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    const parsed = ApiErrorSchema.safeParse(body);
    if (parsed.success) {
      const { code, message, param } = parsed.data.error;
      throw new ApiRequestError(response.status, code, message, param);
    }
    throw new ApiRequestError(
      response.status,
      `http_${response.status}`,
      `HTTP ${response.status} ${response.statusText}`.trim(),
    );
  }
  if (body === undefined) {
    throw new ApiRequestError(
      response.status,
      "bad_response",
      "The collector sent a response that is not JSON.",
    );
  }
  return body as T;
}

/** Builds `path?query` from a record, skipping empty values. */
export function withQuery(path: string, query: Record<string, string | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value != null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Human text for any thrown value, for error states. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiRequestError) {
    const where = error.param ? ` (${error.param})` : "";
    return error.status > 0
      ? `${error.message}${where} — ${error.code}, HTTP ${error.status}`
      : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
