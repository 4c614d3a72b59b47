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
  type ActivityResponse,
  ActivityResponseSchema,
} from "@codex-fleet/protocol/activity";
import type { FastifyInstance } from "fastify";
import { toCsv } from "../http/csv.ts";
import { describeRoute, type ParsedQuery } from "../http/openapi.ts";
import { windowQuerySchema } from "./window-query.ts";

export interface ActivityRouteDeps {
  pool: DbPool;
}

/** Register GET /api/v1/activity. */
export function registerActivityRoutes(fastify: FastifyInstance, deps: ActivityRouteDeps): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const { pool } = deps;
  const schema = describeRoute({
    tags: ["reports"],
    summary: "Time spent by status and turn outcomes over a window",
    query: windowQuerySchema(ACTIVITY_GROUP_KEYS, (g) =>
      g === "rootThread"
        ? `activity cannot be grouped by rootThread (status time is kept per target, not per thread tree); use one of ${ACTIVITY_GROUP_KEYS.join(", ")}`
        : null,
    ),
    response: { 200: ActivityResponseSchema },
    csv: true,
  });
  app.get("/api/v1/activity", schema, async (req, reply) => {
    const { from, to, groupBy, format, filters } = req.query;
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
