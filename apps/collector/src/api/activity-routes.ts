/**
 * GET /api/v1/activity (issue 15): how the fleet spent its time and how turns went, from the
 * activity rollups, with the failed turns' error kinds. Window, groupBy, filters and format as
 * /api/v1/usage; groupBy rootThread is refused (status time has no tree roll-up).
 */
import type { DbPool } from "@codex-fleet/db/client";
import { queryActivity } from "@codex-fleet/db/queries/activity";
import { queryFailures } from "@codex-fleet/db/queries/failures";
import {
  ACTIVITY_COUNTER_COLUMNS,
  ACTIVITY_GROUP_KEYS,
  type ActivityGroupKey,
  type ActivityResponse,
} from "@codex-fleet/protocol/activity";
import type { FastifyInstance } from "fastify";
import { toCsv } from "../http/csv.ts";
import { badParam } from "../http/errors.ts";
import { optEnum, optList, optTime, rejectUnknown } from "../http/params.ts";

const PARAMS = ["from", "to", "groupBy", "team", "target", "model", "repo", "format"] as const;
const MAX_RANGE_MS = 400 * 86_400_000;

export interface ActivityRouteDeps {
  pool: DbPool;
}

/** Register GET /api/v1/activity. */
export function registerActivityRoutes(app: FastifyInstance, deps: ActivityRouteDeps): void {
  const { pool } = deps;
  app.get("/api/v1/activity", async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    rejectUnknown(q, PARAMS);
    const { from, to, groupBy, format, filters } = activityQuery(q);
    const [{ rows, totals }, failures] = await Promise.all([
      queryActivity({ pool, fromMs: from, toMs: to, groupBy, filters }),
      // The kinds only: the rollups count failed turns without their kind.
      queryFailures({ pool, fromMs: from, toMs: to, groupBy: [], filters }),
    ]);
    if (format === "csv") {
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="codex-fleet-activity.csv"')
        .send(toCsv([...groupBy, ...ACTIVITY_COUNTER_COLUMNS], rows));
    }
    const body: ActivityResponse = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      groupBy,
      rows,
      totals,
      failureKinds: failures.kinds,
    };
    return body;
  });
}

/**
 * Window (default: the last 7 days, at most 400), group keys, format and filters: the rules and
 * messages of /usage's parameters, with activity's group keys.
 */
function activityQuery(q: Record<string, unknown>) {
  const to = optTime(q, "to") ?? Date.now();
  const from = optTime(q, "from") ?? to - 7 * 86_400_000;
  if (from >= to) throw badParam("from", "must be before 'to'");
  if (to - from > MAX_RANGE_MS) throw badParam("from", "the range may span at most 400 days");
  const groupBy = (optList(q, "groupBy") ?? []) as ActivityGroupKey[];
  for (const g of groupBy) {
    if ((g as string) === "rootThread")
      throw badParam(
        "groupBy",
        `activity cannot be grouped by rootThread (status time is kept per target, not per thread tree); use one of ${ACTIVITY_GROUP_KEYS.join(", ")}`,
      );
    if (!(ACTIVITY_GROUP_KEYS as readonly string[]).includes(g))
      throw badParam("groupBy", `'${g}' is not one of ${ACTIVITY_GROUP_KEYS.join(", ")}`);
  }
  if (groupBy.includes("day") && groupBy.includes("hour"))
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
