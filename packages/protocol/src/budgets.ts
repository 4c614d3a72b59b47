/**
 * Budgets (issue 14, README "Budgets"): a developer's, a team's or the fleet's spend per UTC day,
 * week or month in USD (list price), or the used % of a plan window, with a forecast at the end of
 * the period. Declared once here: the collector evaluates and serves the rows (GET
 * /api/v1/budgets), the dashboard draws them.
 */
import { z } from "zod";

export const BUDGET_SCOPES = ["developer", "team", "fleet"] as const;
export const BUDGET_PERIODS = ["day", "week", "month"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];
export const BUDGET_UNITS = ["usd", "planPct"] as const;
export const BUDGET_STATUSES = ["ok", "warning", "over", "forecastOver", "noData"] as const;
export type BudgetStatus = (typeof BUDGET_STATUSES)[number];

/**
 * How a forecast was made. `periodAverage` (usd): spent so far ÷ time elapsed × the period's length
 * (after 10 of 30 days, ×3), given once {@link MIN_ELAPSED_MS} of the period has passed.
 * `recentSlope` / `windowAverage` (planPct): the window's burn rate as `forecastWindow`
 * (limits.ts) measures it, run on to the window's reset.
 */
export const BUDGET_FORECAST_METHODS = ["periodAverage", "recentSlope", "windowAverage"] as const;
export type BudgetForecastMethod = (typeof BUDGET_FORECAST_METHODS)[number];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** How much of a period must have passed before its average burn rate is run on to its end. */
export const MIN_ELAPSED_MS: Readonly<Record<BudgetPeriod, number>> = {
  day: HOUR_MS,
  week: DAY_MS,
  month: DAY_MS,
};

/** The UTC period containing `nowMs`: [startMs, endMs). Weeks start on Monday. */
export function periodBounds(period: BudgetPeriod, nowMs: number): { startMs: number; endMs: number } {
  const dayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
  switch (period) {
    case "day":
      return { startMs: dayStart, endMs: dayStart + DAY_MS };
    case "week": {
      const sinceMonday = (new Date(dayStart).getUTCDay() + 6) % 7;
      const startMs = dayStart - sinceMonday * DAY_MS;
      return { startMs, endMs: startMs + 7 * DAY_MS };
    }
    case "month": {
      const d = new Date(dayStart);
      return {
        startMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
        endMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
      };
    }
  }
}

/** One row of GET /api/v1/budgets: one configured budget, evaluated now. */
export const BudgetRowSchema = z.object({
  id: z.string(),
  scope: z.enum(BUDGET_SCOPES),
  /** The target (developer) or team name; null for the fleet. */
  subject: z.string().nullable(),
  unit: z.enum(BUDGET_UNITS),
  /** day/week/month for usd; the plan window (primary/secondary) for planPct. */
  period: z.string(),
  /** planPct only: the plan limit (`codex` by default); null for usd. */
  limitId: z.string().nullable(),
  /** ISO 8601; null when unknown (planPct without data). */
  periodStart: z.string().nullable(),
  periodEnd: z.string().nullable(),
  /** USD, or % of the plan window. */
  amount: z.number(),
  /** null: no data. For planPct, the highest member's used %. */
  spent: z.number().nullable(),
  /** amount − spent (negative when over). */
  remaining: z.number().nullable(),
  /** spent as a % of amount. */
  usedPct: z.number().nullable(),
  /** At the end of the period (usd) or at the window's reset (planPct); null when too early to tell. */
  forecast: z.number().nullable(),
  forecastMethod: z.enum(BUDGET_FORECAST_METHODS).nullable(),
  status: z.enum(BUDGET_STATUSES),
  /** planPct for a team or the fleet: the target whose window is fullest (the one stopped first). */
  member: z.string().nullable(),
  /** Tokens of models without a price in the period: the USD spend is a lower bound when > 0. */
  unpricedTokens: z.number(),
  /** A sentence for people: the method, the caveats, who. */
  detail: z.string(),
});
export type BudgetRow = z.infer<typeof BudgetRowSchema>;

/** GET /api/v1/budgets */
export const BudgetsResponseSchema = z.object({
  /** When the rows were evaluated (ISO 8601). */
  at: z.string(),
  rows: z.array(BudgetRowSchema),
});
export type BudgetsResponse = z.infer<typeof BudgetsResponseSchema>;

/** The CSV columns of GET /api/v1/budgets?format=csv (the row's fields, in this order). */
export const BUDGET_CSV_COLUMNS = [
  "id",
  "scope",
  "subject",
  "unit",
  "period",
  "limitId",
  "periodStart",
  "periodEnd",
  "amount",
  "spent",
  "remaining",
  "usedPct",
  "forecast",
  "forecastMethod",
  "status",
  "member",
  "unpricedTokens",
  "detail",
] as const satisfies readonly (keyof BudgetRow)[];
