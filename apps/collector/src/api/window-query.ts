/**
 * The query parameters the tabular reports share (/usage, /usage/failures, /activity): a window
 * (`from`/`to`, ISO 8601 or epoch ms; default the last 7 days; at most 400 days), `groupBy` keys
 * from the report's own list, `format` json|csv and the team/target/model/repo filter lists.
 */
import { z } from "zod";
import { badParam } from "../http/errors.ts";
import { qp } from "../http/openapi.ts";
import { optEnum, optList, optTime } from "../http/params.ts";

/** Every parameter a windowed report takes. */
export const WINDOW_PARAMS = ["from", "to", "groupBy", "team", "target", "model", "repo", "format"] as const;

/** `from`/`to` as the OpenAPI document describes them. */
export const TIME_RANGE_QUERY = {
  from: qp.time("Start of the window (default: 7 days before `to`; at most 400 days before it)"),
  to: qp.time("End of the window (default: now)"),
};

/** The query schema of a windowed report grouping by `keys` (its description in OpenAPI). */
export function windowQuerySchema(keys: readonly string[], extra: Record<string, z.ZodType> = {}) {
  return z.strictObject({
    ...TIME_RANGE_QUERY,
    groupBy: qp.list(`Group keys, any of ${keys.join(", ")} (day and hour exclude each other)`),
    team: qp.list("Only these teams"),
    target: qp.list("Only these targets"),
    model: qp.list("Only these models"),
    repo: qp.list("Only these repositories"),
    format: qp.format,
    ...extra,
  });
}

const MAX_RANGE_MS = 400 * 86_400_000;

/**
 * `from`/`to` (ISO 8601 or epoch ms): default the 7 days up to now, `from` before `to`, at most
 * 400 days apart. Also the time range of reports that take no groupBy (plan-limit history).
 */
export function timeRange(q: Record<string, unknown>, nowMs = Date.now()): { from: number; to: number } {
  const to = optTime(q, "to") ?? nowMs;
  const from = optTime(q, "from") ?? to - 7 * 86_400_000;
  if (from >= to) throw badParam("from", "must be before 'to'");
  if (to - from > MAX_RANGE_MS) throw badParam("from", "the range may span at most 400 days");
  return { from, to };
}

/**
 * Parse and check the shared parameters. `refuse` may reject a group key with a reason of its own
 * (a key another report has but this one cannot group by) before the generic "not one of".
 */
export function windowQuery<K extends string>(
  q: Record<string, unknown>,
  keys: readonly K[],
  refuse?: (key: string) => string | null,
) {
  const { from, to } = timeRange(q);
  const groupBy = (optList(q, "groupBy") ?? []) as K[];
  for (const g of groupBy) {
    const reason = refuse?.(g);
    if (reason) throw badParam("groupBy", reason);
    if (!(keys as readonly string[]).includes(g))
      throw badParam("groupBy", `'${g}' is not one of ${keys.join(", ")}`);
  }
  if (groupBy.includes("day" as K) && groupBy.includes("hour" as K))
    throw badParam("groupBy", "use day or hour, not both");
  const format = optEnum(q, "format", ["json", "csv"] as const) ?? "json";
  const filters = {
    team: optList(q, "team"),
    target: optList(q, "target"),
    model: optList(q, "model"),
    repo: optList(q, "repo"),
  };
  return { from, to, groupBy, format, filters };
}
