/**
 * Checks every route shares, before any handler runs: path parameters are bounded and printable,
 * and changes (POST/PUT/DELETE) take their input as a JSON body, never as query parameters. A 400
 * names the parameter. Each route's query schema (params.ts) and body schema (body.ts) do the rest.
 */
import type { FastifyRequest } from "fastify";
import { badParam } from "./errors.ts";
import { isWrite } from "./methods.ts";

const MAX_PATH_PARAM = 200;

/** Throws a 400 naming the first bad path parameter or query parameter of a change. */
export function checkCommonParams(req: FastifyRequest): void {
  for (const [name, value] of Object.entries((req.params ?? {}) as Record<string, unknown>)) {
    if (typeof value !== "string") continue;
    if (value.length === 0) throw badParam(name, "must not be empty");
    if (value.length > MAX_PATH_PARAM) throw badParam(name, `must be at most ${MAX_PATH_PARAM} characters`);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point.
    if (/[\u0000-\u001f\u007f]/.test(value)) throw badParam(name, "must not contain control characters");
  }
  if (isWrite(req.method) && req.url.startsWith("/api/")) {
    const first = Object.keys((req.query ?? {}) as Record<string, unknown>)[0];
    if (first !== undefined) throw badParam(first, "unknown parameter (changes take a JSON body)");
  }
}
