/** GET /api/v1/usage: one aggregate over the hourly rollup, grouped by the requested keys. */
import type { Pool } from "pg";

export type UsageGroupKey = "day" | "hour" | "target" | "team" | "model" | "repo";

export interface UsageFilters {
  team?: string[];
  target?: string[];
  model?: string[];
  repo?: string[];
}

export interface UsageCountersRow {
  turns: number;
  failedTurns: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
  costUsd: number;
  unpricedTokens: number;
}

export type UsageQueryRow = UsageCountersRow & Partial<Record<UsageGroupKey, string>>;

// Whitelisted expressions: group keys never reach SQL as user text.
const KEY_SQL: Record<UsageGroupKey, string> = {
  day: `to_char(date_trunc('day', hour), 'YYYY-MM-DD"T"00:00:00"Z"')`,
  hour: `to_char(hour, 'YYYY-MM-DD"T"HH24:00:00"Z"')`,
  target: "target_id",
  team: "team",
  model: "model",
  repo: "repo",
};

const SUMS = `COALESCE(sum(turns), 0)::float8 AS "turns", COALESCE(sum(failed_turns), 0)::float8 AS "failedTurns",
  COALESCE(sum(input_tokens), 0)::float8 AS "inputTokens", COALESCE(sum(cached_input_tokens), 0)::float8 AS "cachedInputTokens",
  COALESCE(sum(output_tokens), 0)::float8 AS "outputTokens",
  COALESCE(sum(reasoning_output_tokens), 0)::float8 AS "reasoningOutputTokens",
  COALESCE(sum(total_tokens), 0)::float8 AS "totalTokens", COALESCE(sum(cost_usd), 0)::float8 AS "costUsd",
  COALESCE(sum(unpriced_tokens), 0)::float8 AS "unpricedTokens"`;

/** Rows grouped by `groupBy` (in that order) plus totals, for hours in [fromMs, toMs). */
export async function queryUsage(args: {
  pool: Pool;
  fromMs: number;
  toMs: number;
  groupBy: UsageGroupKey[];
  filters: UsageFilters;
  limit?: number;
}): Promise<{ rows: UsageQueryRow[]; totals: UsageCountersRow }> {
  const { pool, fromMs, toMs, groupBy, filters } = args;
  const params: unknown[] = [fromMs, toMs];
  const where = [
    `hour >= date_trunc('hour', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC')`,
    `hour < to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'`,
  ];
  for (const [key, col] of [
    ["team", "team"],
    ["target", "target_id"],
    ["model", "model"],
    ["repo", "repo"],
  ] as const) {
    const values = filters[key];
    if (values && values.length > 0) {
      params.push(values);
      where.push(`${col} = ANY($${params.length}::text[])`);
    }
  }
  const whereSql = where.join(" AND ");
  const totalsRes = await pool.query<UsageCountersRow>(
    `SELECT ${SUMS} FROM usage_hourly WHERE ${whereSql}`,
    params,
  );
  const totals = totalsRes.rows[0] as UsageCountersRow;
  if (groupBy.length === 0) return { rows: [], totals };
  const keys = groupBy.map((k) => `${KEY_SQL[k]} AS "${k}"`).join(", ");
  const order = groupBy
    .map((k, i) => (k === "day" || k === "hour" ? `${i + 1} ASC` : `${i + 1} ASC`))
    .join(", ");
  params.push(args.limit ?? 10_000);
  const { rows } = await pool.query<UsageQueryRow>(
    `SELECT ${keys}, ${SUMS} FROM usage_hourly WHERE ${whereSql}
     GROUP BY ${groupBy.map((_, i) => i + 1).join(", ")} ORDER BY ${order} LIMIT $${params.length}`,
    params,
  );
  return { rows, totals };
}
