/**
 * The query parameters the tabular reports share (/usage, /usage/failures, /activity): a window
 * (`from`/`to`, ISO 8601 or epoch ms; default the last 7 days; at most 400 days), `groupBy` keys
 * from the report's own list, `format` json|csv and the team/target/model/repo filter lists.
 * One schema describes them (OpenAPI) and parses them, cross-field rules included.
 */
import type { z } from "zod";
import { qp, query } from "../http/params.ts";

/** `from`/`to` as the OpenAPI document describes them. */
export const TIME_RANGE_QUERY = {
  from: qp.time("Start of the window (default: 7 days before `to`; at most 400 days before it)"),
  to: qp.time("End of the window (default: now)"),
};

const DAY_MS = 86_400_000;
const MAX_RANGE_MS = 400 * DAY_MS;

/**
 * Resolve `from`/`to` (epoch ms, either absent): default the 7 days up to `nowMs`, `from` before
 * `to`, at most 400 days apart; a refusal is an issue on `from`. For a query schema's transform.
 */
export function resolveRange(
  q: { from?: number; to?: number },
  ctx: z.core.$RefinementCtx,
  nowMs: number,
): { from: number; to: number } {
  const to = q.to ?? nowMs;
  const from = q.from ?? to - 7 * DAY_MS;
  if (from >= to) ctx.addIssue({ code: "custom", path: ["from"], message: "must be before 'to'" });
  else if (to - from > MAX_RANGE_MS)
    ctx.addIssue({ code: "custom", path: ["from"], message: "the range may span at most 400 days" });
  return { from, to };
}

/**
 * The parameters of a windowed report grouping by `keys`. `refuse` may reject a group key with a
 * reason of its own (a key another report has but this one cannot group by) before the generic
 * "not one of".
 */
export function windowParams(keys: readonly string[], refuse?: (key: string) => string | null) {
  const groupBy = (items: string[]) => {
    for (const g of items) {
      const reason = refuse?.(g) || (keys.includes(g) ? null : `'${g}' is not one of ${keys.join(", ")}`);
      if (reason) return reason;
    }
    return items.includes("day") && items.includes("hour") ? "use day or hour, not both" : null;
  };
  return {
    ...TIME_RANGE_QUERY,
    groupBy: qp.list(`Group keys, any of ${keys.join(", ")} (day and hour exclude each other)`, groupBy),
    team: qp.list("Only these teams"),
    target: qp.list("Only these targets"),
    model: qp.list("Only these models"),
    repo: qp.list("Only these repositories"),
    format: qp.format,
  };
}

type WindowParams = z.output<z.ZodObject<ReturnType<typeof windowParams>>>;

/** The parsed window parameters as a report reads them (`groupBy` checked against `K`). */
export function toWindow<K extends string>(q: WindowParams, ctx: z.core.$RefinementCtx) {
  const { from, to } = resolveRange(q, ctx, Date.now());
  const { team, target, model, repo } = q;
  return {
    from,
    to,
    groupBy: (q.groupBy ?? []) as K[],
    format: q.format,
    filters: { team, target, model, repo },
  };
}

/** The query schema of a windowed report grouping by `keys` (see `windowParams`). */
export function windowQuerySchema<K extends string>(
  keys: readonly K[],
  refuse?: (key: string) => string | null,
) {
  return query(windowParams(keys, refuse)).transform((q, ctx) => toWindow<K>(q, ctx));
}
