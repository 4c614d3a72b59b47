/**
 * GET /api/v1/budgets (issue 14, README "Budgets"): every configured budget evaluated now — spent,
 * remaining, forecast at period end with its method, status — as JSON or CSV. Viewer access (the
 * auth policy's rule for every API read).
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  BUDGET_CSV_COLUMNS,
  BUDGET_SCOPES,
  type BudgetsResponse,
  BudgetsResponseSchema,
} from "@codex-fleet/protocol/budgets";
import type { FastifyInstance } from "fastify";
import { evaluateBudgets } from "../budgets/evaluate.ts";
import { loadBudgetInputs } from "../budgets/load.ts";
import type { BudgetConfig } from "../config/schema.ts";
import type { Fleet } from "../fleet/fleet.ts";
import { toCsv } from "../http/csv.ts";
import { describeRoute, type ParsedQuery } from "../http/openapi.ts";
import { qp, query } from "../http/params.ts";

export interface BudgetRouteDeps {
  pool: DbPool;
  /** The configured targets (a budget's subject among them has data even when it spent nothing). */
  fleet: Pick<Fleet, "targets">;
  budgets: readonly BudgetConfig[];
  now?: () => number;
}

/** Register GET /api/v1/budgets?scope=&id=&format=. */
export function registerBudgetRoutes(fastify: FastifyInstance, deps: BudgetRouteDeps): void {
  const app = fastify.withTypeProvider<ParsedQuery>();
  const now = deps.now ?? Date.now;
  const schema = describeRoute({
    tags: ["reports"],
    summary: "Every configured budget evaluated now: spent, remaining, forecast, status",
    query: query({
      scope: qp.enum(BUDGET_SCOPES, "Only budgets of this scope"),
      id: qp.list("Only these budget ids", (ids) => {
        const unknown = ids.filter((id) => !deps.budgets.some((b) => b.id === id));
        return unknown.length === 0
          ? null
          : `no budget with id ${unknown.map((id) => `"${id}"`).join(", ")} (configured: ${deps.budgets.map((b) => b.id).join(", ") || "none"})`;
      }),
      format: qp.format,
    }),
    response: { 200: BudgetsResponseSchema },
    csv: true,
  });
  app.get("/api/v1/budgets", schema, async (req, reply) => {
    const { scope, id: ids, format } = req.query;
    const budgets = deps.budgets.filter(
      (b) => (scope === undefined || b.scope === scope) && (ids === undefined || ids.includes(b.id)),
    );
    const nowMs = now();
    const knownTargets = [...deps.fleet.targets.values()].map((rt) => ({
      id: rt.config.name,
      team: rt.config.team,
    }));
    const inputs = await loadBudgetInputs({ pool: deps.pool, budgets, nowMs, knownTargets });
    const rows = evaluateBudgets(budgets, inputs);
    if (format === "csv") {
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", 'attachment; filename="codex-fleet-budgets.csv"')
        .send(toCsv(BUDGET_CSV_COLUMNS, rows));
    }
    const body: BudgetsResponse = { at: new Date(nowMs).toISOString(), rows };
    return body;
  });
}
