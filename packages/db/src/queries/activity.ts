/**
 * GET /api/v1/activity: the activity rollups (migrations 20261206120000_activity,
 * 20261206140300_activity_grain and 20261206150000_activity_fold) grouped by the requested keys,
 * read like /usage: whole UTC days from the coarsest daily grain the request's shape allows
 * ({@link dailyGrain}: per team, per target over aligned spans of days, per target, or per model
 * and repo), the hours of a partial first day from `activity_hourly`, and today until `to` from
 * the daily grain or hour by hour ({@link windowPieces}). The folded grains are read with the
 * changes still pending, so the answer is exact whenever the fold last ran. The totals are
 * the groups' sums. Percentiles are estimated in TS from the summed histogram columns; the peak of
 * threads active at once comes from `activity_peak_daily` and `activity_peak`, which keep one
 * dimension at a time (see {@link peakScope}).
 */
import {
  type ActivityCounters,
  type ActivityGroupKey,
  type ActivityRow,
  ANSWER_BOUNDS_MS,
  histogramQuantile,
  TURN_DURATION_BOUNDS_MS,
} from "@codex-fleet/protocol/activity";
import type { Pool, QueryConfig } from "pg";
import { inTransaction } from "../transaction.ts";
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
/** The fold's tables (migration 20261206150000_activity_fold): float8 counters and their own `n`. */
const FOLDED = new Set(["activity_daily_team", "activity_span_target", "activity_fold_pending"]);
const SUMS = COLUMNS.map((c) => `COALESCE(sum(${c}), 0) AS ${c}`).join(", ");

/** The summed columns of a group, in COLUMNS order. */
type SumRow = number[];
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
 * The pieces a window is read from. Whole days come from a daily table; the hours of a partial
 * first day from the hourly one; the hours of a partial last day that is today (`lastDay`, the
 * dashboard's windows, which end now) from the daily table too, when no hourly row lies past `to`
 * in that day — the daily row then holds exactly the day's hours before `to` (it is their sum, and
 * retention never prunes today's hours: hourlyDays >= 1) — else from the hourly one. Which of
 * the two is decided inside the statement (one snapshot), by {@link lastDayGuard}.
 */
type Piece =
  | { kind: "hours"; fromMs: number; toMs: number }
  | { kind: "days"; fromMs: number; toMs: number }
  | { kind: "lastDay"; dayMs: number; toMs: number };

/** The pieces of the window `w` (usageWindow), given whether rows are keyed by hour and now. */
export function windowPieces(w: ReturnType<typeof usageWindow>, byHour: boolean, nowMs: number): Piece[] {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const hours = (fromMs: number, toMs: number): Piece =>
    !byHour && fromMs % DAY_MS === 0 && fromMs >= today && toMs > fromMs && toMs <= fromMs + DAY_MS
      ? { kind: "lastDay", dayMs: fromMs, toMs }
      : { kind: "hours", fromMs, toMs };
  if (!w.days) return [hours(w.fromHour, w.toMs)];
  const { firstDay, endDay } = w.days;
  const pieces: Piece[] = [];
  if (w.fromHour < firstDay) pieces.push({ kind: "hours", fromMs: w.fromHour, toMs: firstDay });
  pieces.push({ kind: "days", fromMs: firstDay, toMs: endDay });
  if (endDay < w.toMs) pieces.push(hours(endDay, w.toMs));
  return pieces;
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
  const nowMs = args.nowMs ?? Date.now();
  const byHour = groupBy.includes("hour");
  const w = usageWindow(args.fromMs, args.toMs, byHour);
  const pieces = windowPieces(w, byHour, nowMs);
  const period = {
    startMs: w.fromHour,
    endMs: Math.max(w.fromHour, Math.min(Math.ceil(w.toMs / HOUR_MS) * HOUR_MS, nowMs)),
  };
  const limit = args.limit ?? 10_000;
  const [sums, peaks] = await Promise.all([
    querySums(pool, pieces, groupBy, filters, limit),
    queryPeaks(pool, pieces, groupBy, filters),
  ]);
  const timeKey = groupBy.find((k) => k === "day" || k === "hour");
  const rows: ActivityRow[] = [];
  for (const { keys, sums: s } of sums.rows) {
    const peak = peaks.byKey === null ? null : (peaks.byKey.get(peakKey(groupBy, keys)) ?? 0);
    let lengthMs = period.endMs - period.startMs;
    const at = timeKey && keys[timeKey];
    if (at !== undefined) {
      const start = Date.parse(at);
      const end = start + (timeKey === "day" ? DAY_MS : HOUR_MS);
      lengthMs = Math.max(0, Math.min(end, period.endMs) - Math.max(start, period.startMs));
    }
    rows.push(Object.assign(keys, counters(s, lengthMs, peak)) as ActivityRow);
  }
  const totals = counters(sums.totals, period.endMs - period.startMs, peaks.total);
  return { rows, totals };
}

/**
 * Which daily grain a request's whole days are read from (see {@link dayRows}):
 * - `daily`: activity_daily, when the request groups or filters by model or repo;
 * - `team`: activity_daily_team plus activity_fold_pending (migration 20261206150000_activity_fold),
 *   when it groups only by day and team and filters only by team (the fleet is the teams' sum);
 * - `span`: activity_span_target's aligned blocks of 1 to 16 days plus activity_fold_pending, when
 *   it involves targets but has no time key;
 * - `target`: activity_daily_target (migration 20261206140300_activity_grain) otherwise.
 */
export type DailyGrain = "daily" | "team" | "span" | "target";
export function dailyGrain(groupBy: readonly ActivityGroupKey[], filters: ActivityFilters): DailyGrain {
  const by = (k: Dimension) => groupBy.includes(k) || (filters[k]?.length ?? 0) > 0;
  if (by("model") || by("repo")) return "daily";
  if (!by("target")) return "team";
  return groupBy.includes("day") ? "target" : "span";
}

/** The block sizes of activity_span_target and activity_peak_span, largest first. */
const SPANS = [16, 8, 4, 2, 1] as const;

/**
 * Whole days [fromMs, toMs) as aligned blocks, largest first from the left: each block starts at a
 * multiple of its span (in days since 1970-01-01) — a 30-day window is ≈ 5 blocks.
 */
export function spanBlocks(fromMs: number, toMs: number): { span: number; startMs: number }[] {
  const out: { span: number; startMs: number }[] = [];
  let day = fromMs / DAY_MS;
  const end = toMs / DAY_MS;
  while (day < end) {
    const span = SPANS.find((s) => day % s === 0 && day + s <= end) ?? 1;
    out.push({ span, startMs: day * DAY_MS });
    day += span;
  }
  return out;
}

/** A piece's SELECT: the group keys (`t` is its time column), the COLUMNS and `n` (querySums). */
type RowsOf = (table: string, t: string, conds: string[]) => string;

/**
 * The rows holding whole days [fromMs, toMs) in `grain`. The folded grains (activity_daily_team,
 * activity_span_target) come with the pending rows of their days: one statement sees each pending
 * row either still pending or folded, so their sum is activity_daily_target's (exact).
 */
function dayRows(
  grain: DailyGrain,
  fromMs: number,
  toMs: number,
  rowsOf: RowsOf,
  at: (ms: number) => string,
): string[] {
  const range = (a: number, b: number) => [`day >= ${at(a)}`, `day < ${at(b)}`];
  if (grain === "daily") return [rowsOf("activity_daily", "day", range(fromMs, toMs))];
  if (grain === "target") return [rowsOf("activity_daily_target", "day", range(fromMs, toMs))];
  if (grain === "team")
    return [
      rowsOf("activity_daily_team", "day", range(fromMs, toMs)),
      rowsOf("activity_fold_pending", "day", range(fromMs, toMs)),
    ];
  const parts = spanBlocks(fromMs, toMs).map((b) =>
    rowsOf("activity_span_target", "start_day", [`span = ${b.span}`, `start_day = ${at(b.startMs)}`]),
  );
  parts.push(rowsOf("activity_fold_pending", "day", range(fromMs, toMs)));
  return parts;
}

/**
 * The summed rollup columns per group (in key order, at most `limit`) and over everything. The
 * totals are the sum of the groups (in JS: integers far below 2^53 add exactly) unless the groups
 * were cut at `limit`; then one more statement sums everything.
 */
async function querySums(
  pool: Pool,
  pieces: Piece[],
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
  const grain = dailyGrain(groupBy, filters);
  // The pieces' rows, aggregated once. float8: exact for integers below 2^53 (ms of a fleet's
  // century), and by value, where sum(bigint) keeps a numeric state per column and group (a
  // month of 1,000 developers' groups spilled past work_mem); the grains of migrations
  // 20261206140300 and 20261206150000 store float8. `n`: how many activity_daily_target rows a
  // row stands for in a folded grain or a pending row (negative for a delete), 1 elsewhere; a
  // group exists when its n is positive (a folded row stays in place at 0 after deletes).
  const keys = (t: string) =>
    groupBy.map((k, i) => `${(t === "day" && k === "day" ? "$T" : GROUP_SQL[k]).replace("$T", t)} AS k${i}`);
  const rowsOf: RowsOf = (table, t, conds) => {
    const float8 = FOLDED.has(table) || table === "activity_daily_target";
    const values = COLUMNS.map((c) => (float8 ? c : `${c}::float8 AS ${c}`));
    const n = FOLDED.has(table) ? "n" : "1::float8 AS n";
    return `SELECT ${[...keys(t), ...values, n].join(", ")} FROM ${table} WHERE ${and(conds)}`;
  };
  const parts: string[] = [];
  for (const p of pieces) {
    if (p.kind === "hours") {
      parts.push(rowsOf("activity_hourly", "hour", [`hour >= ${at(p.fromMs)}`, `hour < ${at(p.toMs)}`]));
    } else if (p.kind === "days") {
      parts.push(...dayRows(grain, p.fromMs, p.toMs, rowsOf, at));
    } else {
      const later = lastDayGuard("activity_hourly", at(p.toMs), at(p.dayMs + DAY_MS), filterSql);
      const today = dayRows(grain, p.dayMs, p.dayMs + DAY_MS, rowsOf, at);
      parts.push(...today.map((sql) => `${sql} AND NOT ${later}`));
      parts.push(
        rowsOf("activity_hourly", "hour", [`hour >= ${at(p.dayMs)}`, `hour < ${at(p.toMs)}`, later]),
      );
    }
  }
  const source = parts.join(" UNION ALL ");

  // Rows as arrays: no object per row to build and read back by name (measured in the collector's
  // profile: parseRow and the per-row copies were a fifth of its time for 1,000 developers).
  if (groupBy.length === 0) {
    const rows = await queryWithoutParallelAppend<SumRow>(pool, {
      text: `SELECT ${SUMS} FROM (${source}) a`,
      values: params,
      rowMode: "array",
    });
    return { rows: [], totals: rows[0] ?? COLUMNS.map(() => 0) };
  }
  params.push(limit + 1);
  const keyCols = groupBy.map((_, i) => `k${i}`).join(", ");
  const formatted = groupBy.map((k, i) => `${FORMAT_SQL[k](`k${i}`)}`).join(", ");
  const rows = await queryWithoutParallelAppend<unknown[]>(pool, {
    text: `SELECT ${formatted}, ${SUMS} FROM (${source}) a
           GROUP BY ${keyCols} HAVING sum(n) > 0 ORDER BY ${keyCols} LIMIT $${params.length}`,
    values: params,
    rowMode: "array",
  });
  const out: { keys: KeyedRow; sums: SumRow }[] = [];
  const totals: SumRow = COLUMNS.map(() => 0);
  const n = groupBy.length;
  for (const row of rows.slice(0, limit)) {
    const keyed: KeyedRow = {};
    for (let i = 0; i < n; i++) keyed[groupBy[i] as ActivityGroupKey] = row[i] as string;
    // float8 columns: pg parses them to numbers.
    const sums = row.slice(n) as SumRow;
    for (let j = 0; j < sums.length; j++) totals[j] = (totals[j] as number) + (sums[j] as number);
    out.push({ keys: keyed, sums });
  }
  if (rows.length <= limit) return { rows: out, totals };
  const all = await querySums(pool, pieces, [], filters, limit);
  return { rows: out, totals: all.totals };
}

/**
 * One statement's rows, planned without a Parallel Append. A window's pieces are a UNION ALL,
 * which the planner makes a Parallel Append even over tables with `parallel_workers = 0` (each
 * child a whole index scan): the leader then did all the work in a few ms and waited for its two
 * workers to start and finish — a `groupBy=target` request's sums took 75–270 ms instead of
 * 10–35 ms at load 3–5 on two cores (BENCHMARKS.md, Activity, session 9). Parallel scans of one
 * table (the hourly rows of `groupBy=hour`) are kept: there the workers share real work. `SET
 * LOCAL` needs a transaction: two more round trips on the same connection.
 */
async function queryWithoutParallelAppend<R>(
  pool: Pool,
  query: QueryConfig & { rowMode?: "array" },
): Promise<R[]> {
  return inTransaction(pool, "BEGIN READ ONLY; SET LOCAL enable_parallel_append = off", async (client) => {
    const { rows } = await client.query(query as QueryConfig);
    return rows as R[];
  });
}

/**
 * `EXISTS (rows of `table` in the hours [to, dayEnd) matching `conds`)`: whether a partial last
 * day must be read hour by hour (something was written for its hours past `to`, e.g. from a clock
 * ahead of ours) or may be read from the daily table.
 */
function lastDayGuard(table: string, to: string, dayEnd: string, conds: readonly string[]): string {
  return `EXISTS (SELECT 1 FROM ${table} WHERE ${[`hour >= ${to}`, `hour < ${dayEnd}`, ...conds].join(" AND ")})`;
}

/**
 * The peak per row (by {@link peakKey}) and over the whole window, each null when the samples do
 * not keep that combination. Reads one scope's rows (the primary key's range) of activity_peak
 * for hours and of activity_peak_daily for days (or of activity_peak_span for a window's aligned
 * spans of days when no row has a day key), split like the sums ({@link windowPieces}).
 */
async function queryPeaks(
  pool: Pool,
  pieces: Piece[],
  groupBy: ActivityGroupKey[],
  filters: ActivityFilters,
): Promise<{ byKey: Map<string, number> | null; total: number | null }> {
  const grouped = groupBy.filter((k): k is Dimension => (DIMENSIONS as readonly string[]).includes(k));
  const timeKey = groupBy.find((k) => k === "day" || k === "hour");
  // Rows: grouped by at most one dimension. Totals: they span every group, so only filters count.
  const rowScope = grouped.length <= 1 ? peakScope(grouped[0] ?? null, filters) : null;
  const totalScope = peakScope(null, filters);
  const params: unknown[] = [];
  const at = (ms: number) => {
    params.push(ms);
    return `to_timestamp($${params.length} / 1000.0) AT TIME ZONE 'UTC'`;
  };
  /** The scope's conditions: its key, or the filter's keys when grouped by that dimension. */
  const scoped = (s: { scope: string; key: string | null }) => {
    params.push(s.scope);
    const conds = [`scope = $${params.length}`];
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
    return conds;
  };
  /** The window's samples of one scope as (t: the row's time key, k, peak). */
  const samples = (conds: string[], t: "day" | "hour" | null) => {
    const hourT = t === "day" ? "date_trunc('day', hour)" : t === "hour" ? "hour" : "NULL::timestamp";
    const dayT = t === "day" ? "day" : "NULL::timestamp";
    const select = (table: string, tt: string, where: string[]) =>
      `SELECT ${tt} AS t, key AS k, peak FROM ${table} WHERE ${[...conds, ...where].join(" AND ")}`;
    const parts: string[] = [];
    for (const p of pieces) {
      if (p.kind === "hours") {
        parts.push(select("activity_peak", hourT, [`hour >= ${at(p.fromMs)}`, `hour < ${at(p.toMs)}`]));
      } else if (p.kind === "days" && t !== "day") {
        // No day key: a day's maximum is read through the largest aligned spans that hold it.
        for (const b of spanBlocks(p.fromMs, p.toMs)) {
          parts.push(
            b.span === 1
              ? select("activity_peak_daily", dayT, [`day = ${at(b.startMs)}`])
              : select("activity_peak_span", dayT, [`span = ${b.span}`, `start_day = ${at(b.startMs)}`]),
          );
        }
      } else if (p.kind === "days") {
        parts.push(select("activity_peak_daily", dayT, [`day >= ${at(p.fromMs)}`, `day < ${at(p.toMs)}`]));
      } else {
        const day = at(p.dayMs);
        const later = lastDayGuard("activity_peak", at(p.toMs), at(p.dayMs + DAY_MS), conds);
        parts.push(select("activity_peak_daily", dayT, [`day = ${day}`, `NOT ${later}`]));
        parts.push(select("activity_peak", hourT, [`hour >= ${day}`, `hour < ${at(p.toMs)}`, later]));
      }
    }
    return parts.join(" UNION ALL ");
  };
  const statements: string[] = [];
  if (rowScope && groupBy.length > 0) {
    const t = timeKey ? FORMAT_SQL[timeKey]("t") : "''";
    const k = grouped.length === 1 ? "k" : "''";
    const source = samples(scoped(rowScope), timeKey ?? null);
    statements.push(
      `SELECT false AS total, ${t} AS t, ${k} AS k, max(peak) AS peak FROM (${source}) s GROUP BY s.t${grouped.length === 1 ? ", s.k" : ""}`,
    );
  }
  if (totalScope) {
    const source = samples(scoped(totalScope), null);
    statements.push(`SELECT true AS total, '' AS t, '' AS k, max(peak) AS peak FROM (${source}) s`);
  }
  if (statements.length === 0) return { byKey: null, total: null };
  const rows = await queryWithoutParallelAppend<{
    total: boolean;
    t: string;
    k: string;
    peak: number | null;
  }>(pool, {
    text: statements.join(" UNION ALL "),
    values: params,
  });
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

const AT = Object.fromEntries(SUMMED.map(([, k], i) => [k, i])) as Record<(typeof SUMMED)[number][1], number>;

/** The schema's counters from summed rollup columns (COLUMNS order), a period's length and its peak. */
function counters(s: SumRow, lengthMs: number, peak: number | null): ActivityCounters {
  const v = (k: keyof typeof AT) => s[AT[k]] ?? 0;
  const dur = s.slice(SUMMED.length, SUMMED.length + DUR.length);
  const ans = s.slice(SUMMED.length + DUR.length);
  const activeMs = v("workingMs") + v("waitingOnApprovalMs") + v("waitingOnInputMs");
  // One literal, in the schema's order: every row has the same shape (cheap to build and to serialize).
  return {
    turnsStarted: v("turnsStarted"),
    turnsCompleted: v("turnsCompleted"),
    turnsFailed: v("turnsFailed"),
    turnsInterrupted: v("turnsInterrupted"),
    workingMs: v("workingMs"),
    waitingOnApprovalMs: v("waitingOnApprovalMs"),
    waitingOnInputMs: v("waitingOnInputMs"),
    systemErrorMs: v("systemErrorMs"),
    approvalWaits: v("approvalWaits"),
    inputWaits: v("inputWaits"),
    answeredWaits: v("answeredWaits"),
    turnDurationP50Ms: histogramQuantile(TURN_DURATION_BOUNDS_MS, dur, 0.5),
    turnDurationP90Ms: histogramQuantile(TURN_DURATION_BOUNDS_MS, dur, 0.9),
    timeToAnswerP50Ms: histogramQuantile(ANSWER_BOUNDS_MS, ans, 0.5),
    timeToAnswerP90Ms: histogramQuantile(ANSWER_BOUNDS_MS, ans, 0.9),
    activeThreadsAvg: lengthMs > 0 ? activeMs / lengthMs : 0,
    activeThreadsPeak: peak,
  };
}
