/**
 * GET /api/v1/activity: the activity rollups (migration 20261206120000_activity) grouped by the
 * requested keys, with the totals in the same pass (GROUPING SETS), read like /usage: whole UTC
 * days from `activity_daily`, the hours of a partial first or last day from `activity_hourly`.
 * Percentiles are estimated in TS from the summed histogram columns; the peak of threads active at
 * once comes from `activity_peak`, which keeps one dimension at a time (see {@link peakScope}).
 */
import {
  type ActivityCounters,
  type ActivityGroupKey,
  type ActivityRow,
  ANSWER_BOUNDS_MS,
  histogramQuantile,
  TURN_DURATION_BOUNDS_MS,
} from "@codex-fleet/protocol/activity";
import type { Pool } from "pg";
import { FORMAT_SQL, type UsageFilters, usageWindow } from "./usage.ts";

export type ActivityFilters = UsageFilters;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** The dimensions activity_peak keeps, as its `scope`, with their filter and group key names. */
type Dimension = "team" | "target" | "model" | "repo";
const DIMENSIONS: readonly Dimension[] = ["team", "target", "model", "repo"];

// Whitelisted expressions: group keys never reach SQL as user text. `$T` stands for the row's hour
// (or day, in activity_daily).
const GROUP_SQL: Record<ActivityGroupKey, string> = {
  day: "date_trunc('day', $T)",
  hour: "$T",
  target: "target_id",
  team: "team",
  model: "model",
  repo: "repo",
};
const FILTER_COLUMN: Record<Dimension, string> = {
  team: "team",
  target: "target_id",
  model: "model",
  repo: "repo",
};

/** Rollup columns summed as-is into the counter of the same meaning. */
const SUMMED = [
  ["turns_started", "turnsStarted"],
  ["turns_completed", "turnsCompleted"],
  ["turns_failed", "turnsFailed"],
  ["turns_interrupted", "turnsInterrupted"],
  ["working_ms", "workingMs"],
  ["approval_wait_ms", "waitingOnApprovalMs"],
  ["input_wait_ms", "waitingOnInputMs"],
  ["system_error_ms", "systemErrorMs"],
  ["approval_waits", "approvalWaits"],
  ["input_waits", "inputWaits"],
  ["answered_waits", "answeredWaits"],
] as const satisfies readonly (readonly [string, keyof ActivityCounters])[];
// One histogram column per bound, plus the open last bucket.
const DUR = Array.from({ length: TURN_DURATION_BOUNDS_MS.length + 1 }, (_, i) => `dur_h${i}`);
const ANS = Array.from({ length: ANSWER_BOUNDS_MS.length + 1 }, (_, i) => `ans_h${i}`);
const COLUMNS = [...SUMMED.map(([c]) => c), ...DUR, ...ANS];
const SUMS = COLUMNS.map((c) => `COALESCE(sum(${c}), 0) AS ${c}`).join(", ");

type SumRow = Record<string, number>;
type KeyedRow = Partial<Record<ActivityGroupKey, string>>;

/**
 * Where the peak of a set of rows can be read, given the dimension grouped by (or null) and the
 * filters: activity_peak keeps the fleet and each team, target, model and repo on its own, so a
 * set of rows constrained in two dimensions (grouped by one and filtered by another, filtered by
 * two, or filtered to several values of one without grouping by it) has no sampled peak.
 */
export function peakScope(
  grouped: Dimension | null,
  filters: ActivityFilters,
): { scope: Dimension | "fleet"; key: string | null } | null {
  const filtered = DIMENSIONS.filter((d) => (filters[d]?.length ?? 0) > 0);
  if (grouped !== null) {
    // The row's own key; a filter on the same dimension only selects which rows exist.
    return filtered.every((d) => d === grouped) ? { scope: grouped, key: null } : null;
  }
  if (filtered.length === 0) return { scope: "fleet", key: "" };
  const [only] = filtered;
  const values = only ? (filters[only] ?? []) : [];
  // The peak of "team a or team b" is not the larger of their peaks (they overlap in time).
  return filtered.length === 1 && only && values.length === 1 ? { scope: only, key: values[0] ?? "" } : null;
}

/**
 * Rows grouped by `groupBy` (in that order) plus totals, for hours in [fromMs, toMs) as /usage
 * reads them: every hour h with floor_hour(from) <= h < to.
 *
 * activeThreadsAvg divides active time by the length of the time the row's figures cover: its
 * hour or day (the whole window for rows without a time key, and the totals) clipped to
 * [floor_hour(from), min(ceil_hour(to), now)) — whole hours, as the rollups count them, but not
 * past `nowMs`, since the current hour holds only the time observed so far.
 */
export async function queryActivity(args: {
  pool: Pool;
  fromMs: number;
  toMs: number;
  groupBy: ActivityGroupKey[];
  filters: ActivityFilters;
  limit?: number;
  nowMs?: number;
}): Promise<{ rows: ActivityRow[]; totals: ActivityCounters }> {
  const { pool, groupBy, filters } = args;
  const w = usageWindow(args.fromMs, args.toMs, groupBy.includes("hour"));
  const period = {
    startMs: w.fromHour,
    endMs: Math.max(w.fromHour, Math.min(Math.ceil(w.toMs / HOUR_MS) * HOUR_MS, args.nowMs ?? Date.now())),
  };
  const limit = args.limit ?? 10_000;
  const [sums, peaks] = await Promise.all([
    querySums(pool, w, groupBy, filters, limit),
    queryPeaks(pool, w, groupBy, filters),
  ]);
  const timeKey = groupBy.find((k) => k === "day" || k === "hour");
  const rows = sums.rows.map(({ keys, sums: s }) => {
    const peak = peaks.byKey === null ? null : (peaks.byKey.get(peakKey(groupBy, keys)) ?? 0);
    let lengthMs = period.endMs - period.startMs;
    const at = timeKey && keys[timeKey];
    if (at !== undefined) {
      const start = Date.parse(at);
      const end = start + (timeKey === "day" ? DAY_MS : HOUR_MS);
      lengthMs = Math.max(0, Math.min(end, period.endMs) - Math.max(start, period.startMs));
    }
    return { ...keys, ...counters(s, lengthMs, peak) } as ActivityRow;
  });
  const totals = counters(sums.totals, period.endMs - period.startMs, peaks.total);
  return { rows, totals };
}

/** The summed rollup columns per group (in key order, at most `limit`) and over everything. */
async function querySums(
  pool: Pool,
  w: ReturnType<typeof usageWindow>,
  groupBy: ActivityGroupKey[],
  filters: ActivityFilters,
  limit: number,
): Promise<{ rows: { keys: KeyedRow; sums: SumRow }[]; totals: SumRow }> {
  const params: unknown[] = [];
  const at = (ms: number) => {
    params.push(ms);
    return `to_timestamp($${params.length} / 1000.0) AT TIME ZONE 'UTC'`;
  };
  const filterSql = filterConditions(filters, params);
  const and = (conds: string[]) => [...conds, ...filterSql].join(" AND ");
  // Each source aggregated on its own, then the few partial groups merged (as in usage.ts).
  const keys = (t: string) =>
    groupBy.map((k, i) => `${(t === "day" && k === "day" ? "$T" : GROUP_SQL[k]).replace("$T", t)} AS k${i}`);
  // float8 sums: exact for integers below 2^53 (ms of a fleet's century), and about a quarter
  // cheaper than bigint's numeric sums over 31 columns (measured on the bench's 30-day window).
  const partial = (table: string, t: string, conds: string[]) => {
    const sel = [...keys(t), ...COLUMNS.map((c) => `sum(${c}::float8) AS ${c}`)].join(", ");
    const group = groupBy.length > 0 ? ` GROUP BY ${groupBy.map((_, i) => i + 1).join(", ")}` : "";
    return `SELECT ${sel} FROM ${table} WHERE ${and(conds)}${group}`;
  };
  const hourly = (from: string, to: string) =>
    partial("activity_hourly", "hour", [`hour >= ${from}`, `hour < ${to}`]);
  const parts: string[] = [];
  if (w.days) {
    const { firstDay, endDay } = w.days;
    if (w.fromHour < firstDay) parts.push(hourly(at(w.fromHour), at(firstDay)));
    parts.push(partial("activity_daily", "day", [`day >= ${at(firstDay)}`, `day < ${at(endDay)}`]));
    if (endDay < w.toMs) parts.push(hourly(at(endDay), at(w.toMs)));
  } else {
    parts.push(hourly(at(w.fromHour), at(w.toMs)));
  }
  const source = parts.join(" UNION ALL ");

  if (groupBy.length === 0) {
    const { rows } = await pool.query<SumRow>(`SELECT ${SUMS} FROM (${source}) a`, params);
    return { rows: [], totals: rows[0] as SumRow };
  }
  params.push(limit);
  const keyCols = groupBy.map((_, i) => `k${i}`).join(", ");
  const formatted = groupBy.map((k, i) => `${FORMAT_SQL[k](`k${i}`)} AS "${k}"`).join(", ");
  const cols = COLUMNS.join(", ");
  const { rows } = await pool.query<SumRow & KeyedRow & { total: boolean }>(
    `WITH g AS MATERIALIZED (
       SELECT ${keyCols}, GROUPING(${keyCols}) <> 0 AS total, ${SUMS}
       FROM (${source}) a
       GROUP BY GROUPING SETS ((${keyCols}), ())
     )
     SELECT * FROM (SELECT ${formatted}, false AS total, ${cols} FROM g WHERE NOT total
                    ORDER BY ${keyCols} LIMIT $${params.length}) r
     UNION ALL SELECT ${groupBy.map((k) => `NULL AS "${k}"`).join(", ")}, true, ${cols} FROM g WHERE total`,
    params,
  );
  let totals: SumRow | null = null;
  const out: { keys: KeyedRow; sums: SumRow }[] = [];
  for (const { total, ...row } of rows) {
    if (total) totals = row as SumRow;
    else {
      const keyed: KeyedRow = {};
      for (const k of groupBy) keyed[k] = row[k] as string;
      out.push({ keys: keyed, sums: row as SumRow });
    }
  }
  return { rows: out, totals: totals ?? Object.fromEntries(COLUMNS.map((c) => [c, 0])) };
}

/**
 * The peak per row (by {@link peakKey}) and over the whole window, each null when the samples do
 * not keep that combination. Reads the window's hours of one scope (the primary key's range).
 */
async function queryPeaks(
  pool: Pool,
  w: ReturnType<typeof usageWindow>,
  groupBy: ActivityGroupKey[],
  filters: ActivityFilters,
): Promise<{ byKey: Map<string, number> | null; total: number | null }> {
  const grouped = groupBy.filter((k): k is Dimension => (DIMENSIONS as readonly string[]).includes(k));
  const timeKey = groupBy.find((k) => k === "day" || k === "hour");
  // Rows: grouped by at most one dimension. Totals: they span every group, so only filters count.
  const rowScope = grouped.length <= 1 ? peakScope(grouped[0] ?? null, filters) : null;
  const totalScope = peakScope(null, filters);
  const params: unknown[] = [w.fromHour, w.toMs];
  const window = `hour >= to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC' AND hour < to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'`;
  const scoped = (s: { scope: string; key: string | null }) => {
    params.push(s.scope);
    const conds = [`scope = $${params.length}`, window];
    if (s.key !== null) {
      params.push(s.key);
      conds.push(`key = $${params.length}`);
    } else {
      const values = filters[s.scope as Dimension];
      if (values && values.length > 0) {
        params.push(values);
        conds.push(`key = ANY($${params.length}::text[])`);
      }
    }
    return conds.join(" AND ");
  };
  const parts: string[] = [];
  if (rowScope && groupBy.length > 0) {
    const t = timeKey ? FORMAT_SQL[timeKey](timeKey === "day" ? "date_trunc('day', hour)" : "hour") : "''";
    const k = grouped.length === 1 ? "key" : "''";
    parts.push(
      `SELECT false AS total, ${t} AS t, ${k} AS k, max(peak) AS peak FROM activity_peak
       WHERE ${scoped(rowScope)} GROUP BY 2, 3`,
    );
  }
  if (totalScope) {
    parts.push(
      `SELECT true AS total, '' AS t, '' AS k, max(peak) AS peak FROM activity_peak WHERE ${scoped(totalScope)}`,
    );
  }
  if (parts.length === 0) return { byKey: null, total: null };
  const { rows } = await pool.query<{ total: boolean; t: string; k: string; peak: number | null }>(
    parts.join(" UNION ALL "),
    params,
  );
  const byKey = rowScope ? new Map<string, number>() : null;
  let total: number | null = totalScope ? 0 : null;
  for (const r of rows) {
    if (r.total) total = r.peak ?? 0;
    else byKey?.set(`${r.t}\u0000${r.k}`, r.peak ?? 0);
  }
  return { byKey, total };
}

/** A row's key into the peaks: its time key's value and its one dimension's value ('' without). */
function peakKey(groupBy: ActivityGroupKey[], keys: KeyedRow): string {
  const timeKey = groupBy.find((k) => k === "day" || k === "hour");
  const dim = groupBy.find((k) => k !== "day" && k !== "hour");
  return `${timeKey ? (keys[timeKey] ?? "") : ""}\u0000${dim ? (keys[dim] ?? "") : ""}`;
}

function filterConditions(filters: ActivityFilters, params: unknown[]): string[] {
  const out: string[] = [];
  for (const d of DIMENSIONS) {
    const values = filters[d];
    if (values && values.length > 0) {
      params.push(values);
      out.push(`${FILTER_COLUMN[d]} = ANY($${params.length}::text[])`);
    }
  }
  return out;
}

/** The schema's counters from summed rollup columns, a period's length and its peak. */
function counters(s: SumRow, lengthMs: number, peak: number | null): ActivityCounters {
  const out = {} as ActivityCounters;
  for (const [c, k] of SUMMED) (out as Record<string, number | null>)[k] = Number(s[c] ?? 0);
  const dur = DUR.map((c) => Number(s[c] ?? 0));
  const ans = ANS.map((c) => Number(s[c] ?? 0));
  out.turnDurationP50Ms = histogramQuantile(TURN_DURATION_BOUNDS_MS, dur, 0.5);
  out.turnDurationP90Ms = histogramQuantile(TURN_DURATION_BOUNDS_MS, dur, 0.9);
  out.timeToAnswerP50Ms = histogramQuantile(ANSWER_BOUNDS_MS, ans, 0.5);
  out.timeToAnswerP90Ms = histogramQuantile(ANSWER_BOUNDS_MS, ans, 0.9);
  const activeMs = out.workingMs + out.waitingOnApprovalMs + out.waitingOnInputMs;
  out.activeThreadsAvg = lengthMs > 0 ? activeMs / lengthMs : 0;
  out.activeThreadsPeak = peak;
  return out;
}
