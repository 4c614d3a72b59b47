/**
 * Thin fetch wrapper for the collector's HTTP API: JSON in, JSON out, typed errors. Every answer
 * is parsed with its schema from @codex-fleet/protocol, never cast: an answer of the wrong shape
 * (a collector of another version, a proxy's error page) becomes an ApiRequestError that the
 * page shows in its error state.
 */
import { ApiErrorSchema } from "@codex-fleet/protocol/api";
import type { z } from "zod";

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

type RequestInit = { method?: "GET" | "POST" | "PUT" | "DELETE"; body?: unknown; signal?: AbortSignal };

/**
 * Calls a JSON endpoint under the same origin and returns its answer parsed with `schema`;
 * throws ApiRequestError on failure, including an answer that does not match the schema.
 */
export async function apiFetch<T>(path: string, schema: z.ZodType<T>, init: RequestInit = {}): Promise<T> {
  const { status, body } = await request(path, init);
  if (body === undefined) {
    throw new ApiRequestError(status, "bad_response", "The collector sent a response that is not JSON.");
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ApiRequestError(
    status,
    "bad_response",
    `The collector's answer to ${init.method ?? "GET"} ${path.split("?")[0]} is not what this dashboard expects (${describeIssue(parsed.error)}): are the dashboard and the collector the same version?`,
  );
}

/** A change whose answer the caller does not read (POST/DELETE); throws ApiRequestError on failure. */
export async function apiSend(
  path: string,
  init: RequestInit & { method: "POST" | "DELETE" },
): Promise<void> {
  await request(path, init);
}

/**
 * A change whose answer may be empty (204: undefined) or JSON parsed with `schema` (e.g. sign-out,
 * which answers where to go next when the identity provider should sign out too).
 */
export async function apiSendFor<T>(
  path: string,
  schema: z.ZodType<T>,
  init: RequestInit & { method: "POST" | "DELETE" },
): Promise<T | undefined> {
  const { status, body } = await request(path, init);
  if (status === 204 || body === undefined) return undefined;
  const parsed = schema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** The request itself: a successful status with its JSON body (undefined when empty or not JSON). */
async function request(path: string, init: RequestInit): Promise<{ status: number; body: unknown }> {
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
  if (response.status === 204) return { status: 204, body: undefined };
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
  return { status: response.status, body };
}

/** The first problem of a failed parse, e.g. `[3].status: Invalid option: expected one of …`. */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return "unexpected shape";
  const path = issue.path
    .map((key, index) =>
      typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`,
    )
    .join("");
  return path === "" ? issue.message : `${path}: ${issue.message}`;
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
