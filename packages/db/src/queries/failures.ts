/**
 * GET /api/v1/usage/failures: turns that ended `failed`, counted by error kind (the flattened
 * `codexErrorInfo`), grouped by the same keys as /usage, with the per-kind totals in the same pass
 * (GROUPING SETS). The rollups count failures without their kind, so this reads `turn` itself,
 * through the partial index `turn_failed_at_idx` (migration 20261206100400_failure_index): only
 * failed turns, keyed by `COALESCE(completed_at, started_at)` — the time the rollups count a
 * turn's end at, so that per range and filters the counts here add up to /usage's failedTurns.
 * A turn is keyed like its rollup row: its model (else its thread's, else 'unknown'), its
 * target's team and its thread's repo ('' when unknown).
 */
import type { FailureRow, UsageGroupKey } from "@codex-fleet/protocol/api";
import type { Pool } from "pg";
import { rootWalkSql } from "../repositories/thread-tree.ts";
import type { UsageFilters } from "./usage.ts";

const HOUR_MS = 3_600_000;

/** The turn's end as the rollups key it; must stay the expression `turn_failed_at_idx` is on. */
const AT = "COALESCE(t.completed_at, t.started_at)";

// Whitelisted expressions: group keys never reach SQL as user text.
const KEY_SQL: Record<UsageGroupKey, string> = {
  day: `date_trunc('day', ${AT})`,
  hour: `date_trunc('hour', ${AT})`,
  target: "t.target_id",
  team: "COALESCE(tg.team, '')",
  model: "COALESCE(t.model, th.model, 'unknown')",
  repo: "COALESCE(th.repo, '')",
  // The thread's root (thread-tree.ts), joined only when grouping by it.
  rootThread: "r.root",
};
const FORMAT_SQL: Record<UsageGroupKey, (col: string) => string> = {
  day: (c) => `to_char(${c}, 'YYYY-MM-DD"T"00:00:00"Z"')`,
  hour: (c) => `to_char(${c}, 'YYYY-MM-DD"T"HH24:00:00"Z"')`,
  target: (c) => c,
  team: (c) => c,
  model: (c) => c,
  repo: (c) => c,
  rootThread: (c) => c,
};
const FILTER_SQL: Record<keyof UsageFilters, string> = {
  team: KEY_SQL.team,
  target: KEY_SQL.target,
  model: KEY_SQL.model,
  repo: KEY_SQL.repo,
};

export interface FailureFilters extends UsageFilters {
  /** Error kinds to count (names as stored); absent = all, a failed turn without a kind included. */
  kind?: string[];
}

export interface FailureCounts {
  rows: FailureRow[];
  /** Per kind over everything matched, most frequent first (then by name). */
  kinds: { kind: string | null; failedTurns: number }[];
  failedTurns: number;
}

/**
 * Which turn ends make up [fromMs, toMs): those whose hour h has floor_hour(from) <= h < to — the
 * hours /usage reads from the rollups — i.e. ends in [floor_hour(from), ceil_hour(to)).
 */
export function failureWindow(fromMs: number, toMs: number): { startMs: number; endMs: number } {
  return {
    startMs: Math.floor(fromMs / HOUR_MS) * HOUR_MS,
    endMs: Math.ceil(toMs / HOUR_MS) * HOUR_MS,
  };
}

/** Failed turns by `groupBy` (in that order) and kind, plus totals per kind, for [fromMs, toMs). */
export async function queryFailures(args: {
  pool: Pool;
  fromMs: number;
  toMs: number;
  groupBy: UsageGroupKey[];
  filters: FailureFilters;
  limit?: number;
}): Promise<FailureCounts> {
  const { pool, groupBy, filters } = args;
  const w = failureWindow(args.fromMs, args.toMs);
  const params: unknown[] = [w.startMs, w.endMs];
  const conds = [
    "t.status = 'failed'",
    `${AT} >= to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC'`,
    `${AT} < to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'`,
  ];
  for (const key of Object.keys(FILTER_SQL) as (keyof UsageFilters)[]) {
    const values = filters[key];
    if (values && values.length > 0) {
      params.push(values);
      conds.push(`${FILTER_SQL[key]} = ANY($${params.length}::text[])`);
    }
  }
  if (filters.kind && filters.kind.length > 0) {
    params.push(filters.kind);
    conds.push(`t.codex_error_info = ANY($${params.length}::text[])`);
  }
  params.push(args.limit ?? 10_000);
  const limit = `$${params.length}`;

  const keys = groupBy.map((k, i) => `${KEY_SQL[k]} AS k${i}`);
  const keyCols = groupBy.map((_, i) => `k${i}`);
  const byGroup = [...keyCols, "kind"].join(", ");
  const formatted = groupBy.map((k, i) => `${FORMAT_SQL[k](`k${i}`)} AS "${k}"`);
  // The thread and target joins are by primary key and only for the failed turns in range.
  // Grouping by root thread walks up the parent links of the failed turns' threads (bounded, cycle-safe).
  const byRoot = groupBy.includes("rootThread");
  const from =
    "FROM turn t LEFT JOIN thread th ON th.id = t.thread_id LEFT JOIN target tg ON tg.id = t.target_id";
  const roots = byRoot
    ? `RECURSIVE seed AS MATERIALIZED (SELECT DISTINCT t.thread_id AS id ${from} WHERE ${conds.join(" AND ")}),
       walk(start, id, parent, depth, path) AS (${rootWalkSql("SELECT id FROM seed", "walk")}),
       roots AS (SELECT DISTINCT ON (start) start, id AS root FROM walk ORDER BY start, depth DESC), `
    : "";
  const { rows } = await pool.query<Record<string, string | number | null> & { total: boolean }>(
    `WITH ${roots}f AS (
       SELECT ${[...keys, "t.codex_error_info AS kind"].join(", ")}
       ${from}${byRoot ? " JOIN roots r ON r.start = t.thread_id" : ""}
       WHERE ${conds.join(" AND ")}
     ), g AS MATERIALIZED (
       SELECT ${byGroup}, ${groupBy.length > 0 ? `GROUPING(${keyCols.join(", ")}) <> 0` : "true"} AS total,
              count(*)::float8 AS "failedTurns"
       FROM f GROUP BY ${groupBy.length > 0 ? `GROUPING SETS ((${byGroup}), (kind))` : "kind"}
     )
     SELECT * FROM (SELECT ${[...formatted, "kind"].join(", ")}, false AS total, "failedTurns" FROM g
                    WHERE NOT total ORDER BY ${byGroup} LIMIT ${limit}) r
     UNION ALL
     SELECT ${[...groupBy.map((k) => `NULL AS "${k}"`), "kind"].join(", ")}, true, "failedTurns" FROM g WHERE total`,
    params,
  );
  const out: FailureRow[] = [];
  const kinds: FailureCounts["kinds"] = [];
  for (const { total, ...row } of rows) {
    if (total) kinds.push({ kind: row.kind as string | null, failedTurns: Number(row.failedTurns) });
    else out.push(row as unknown as FailureRow);
  }
  kinds.sort((a, b) => b.failedTurns - a.failedTurns || (a.kind ?? "").localeCompare(b.kind ?? ""));
  return { rows: out, kinds, failedTurns: kinds.reduce((sum, k) => sum + k.failedTurns, 0) };
}
