/**
 * Query-parameter schemas (issue 17): zod schemas that both describe a parameter in the OpenAPI
 * document (their input side: the string a client sends) and parse it (to a list, epoch ms, an
 * integer, an enum member). Every issue carries the words of a 400 that names the parameter;
 * `describeRoute` (openapi.ts) validates each route's query with them.
 */
import { timeToMs } from "@codex-fleet/protocol/api";
import { z } from "zod";
import { type ApiError, badParam } from "./errors.ts";

type Ctx = z.core.$RefinementCtx;

/** Report `message` on the parameter being parsed (a transform's refusal). */
export function refuse(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER;
}

/** A value given once (a repeated key arrives as an array); `missing` when a required one is absent. */
const given = (missing = "is required") =>
  z.string({ error: (iss) => (iss.input === undefined ? missing : "must be given once") });

/** A value given once, of at most `max` characters. */
export function text(max: number, missing = "is required") {
  return given(missing).max(max, `must be at most ${max} characters`);
}

/** A comma-separated list (`team=a,b`), deduplicated, empty items dropped; `check` may refuse it. */
function list(check?: (items: string[]) => string | null) {
  return text(5000).transform((v, ctx) => {
    const items = [
      ...new Set(
        v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
      ),
    ];
    if (items.length === 0) return refuse(ctx, "must not be empty");
    if (items.length > 200) return refuse(ctx, "at most 200 values");
    const reason = check?.(items);
    return reason ? refuse(ctx, reason) : items;
  });
}

/** A list check refusing the first item `allowed` does not, as "'x' is not one of `known`". */
export function eachOf(allowed: (item: string) => boolean, known: string) {
  return (items: string[]) => {
    const bad = items.find((item) => !allowed(item));
    return bad === undefined ? null : `'${bad}' is not one of ${known}`;
  };
}

function oneOf<const T extends string>(values: readonly [T, ...T[]], description: string) {
  return z
    .enum(values, {
      error: (iss) =>
        typeof iss.input !== "string"
          ? "must be given once"
          : iss.input.length > 100
            ? "must be at most 100 characters"
            : `must be one of ${values.join(", ")}`,
    })
    .optional()
    .describe(description);
}

/** Query-parameter shapes; every one optional unless the route says otherwise. */
export const qp = {
  /** A string of at most `max` characters. */
  string: (description: string, max = 500) => text(max).optional().describe(description),
  /** A comma-separated list of at most 200 values (`check` may refuse its items). */
  list: (description: string, check?: (items: string[]) => string | null) =>
    list(check).optional().describe(`${description} (comma-separated list, at most 200 values)`),
  /** An ISO 8601 date/time or epoch milliseconds (the protocol's `timeToMs`), as epoch ms. */
  time: (description: string) =>
    text(100)
      .transform((v, ctx) => {
        const ms = timeToMs(v);
        return Number.isFinite(ms)
          ? ms
          : refuse(
              ctx,
              `'${v}' is not an ISO 8601 time or epoch milliseconds between 1970-01-01 and 9999-12-31`,
            );
      })
      .optional()
      .describe(`${description}: ISO 8601 date/time or epoch milliseconds`),
  /** A decimal integer in [min, max]; described as an integer (what a client sends). */
  int: (description: string, min: number, max: number) =>
    given()
      .transform((v, ctx) => {
        // The length is checked here so that the document shows an integer, not a string's maxLength.
        if (v.length > 20) return refuse(ctx, "must be at most 20 characters");
        if (!/^-?\d+$/.test(v)) return refuse(ctx, "must be an integer");
        const n = Number(v);
        return n >= min && n <= max ? n : refuse(ctx, `must be between ${min} and ${max}`);
      })
      .optional()
      .meta({ type: "integer", minimum: min, maximum: max, description }),
  /** One of `values`. */
  enum: oneOf,
  /** `format`: json (the default) or csv. */
  format: oneOf(["json", "csv"], "json (default) or csv").default("json"),
};

/**
 * A route's query: exactly these parameters; any other is refused naming itself and the known ones.
 */
export function query<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => (iss.code === "unrecognized_keys" ? `unknown parameter (known: ${known})` : undefined),
  });
}

/** A query with no parameters: any parameter is refused with a 400 naming it. */
export const noQuery = query({});

/**
 * The 400 of a refused query: its first unknown parameter (a typo explains the rest), else the
 * parameter of its first issue, in that issue's words.
 */
export function badParamOf(issues: readonly z.core.$ZodIssue[]): ApiError {
  const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0];
  const param = issue?.code === "unrecognized_keys" ? issue.keys[0] : issue?.path[0];
  return badParam(String(param ?? "query"), issue?.message ?? "is not valid");
}
