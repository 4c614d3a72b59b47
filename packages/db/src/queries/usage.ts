/**
 * GET /api/v1/usage: one aggregate over the rollups, grouped by the requested keys, with the
 * totals computed in the same pass (GROUPING SETS). Only the hours of a partial first or last day
 * come from `usage_hourly` (grouping by hour reads hourly rows only); whole UTC days come from the
 * coarsest grain that carries every key and filter asked for (migration 20261207100000_usage_fold):
 * within {day, team, model} `usage_daily_team`; within {target, team} `usage_span_target`'s aligned
 * blocks of 1, 2, 4, … 256 days (span 1 when grouping by day too, found by team when filtered by
 * team: migration 20261207300000_usage_span_team_index); else `usage_daily`. The two grains add
 * the rows still pending in `usage_fold_pending` (the same statement: one snapshot, exact).
 */
import type { UsageCounters, UsageGroupKey, UsageRow } from "@codex-fleet/protocol/api";
import type { Pool } from "pg";
import { rootWalkSql } from "../repositories/thread-tree.ts";
import { inTransaction } from "../transaction.ts";

export interface UsageFilters {
  team?: string[];
  target?: string[];
  model?: string[];
  repo?: string[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

// Whitelisted expressions: group keys never reach SQL as user text. `$T` stands for the row's hour
// (or day, in usage_daily); grouping is on raw values, formatting happens once per group.
const GROUP_SQL: Record<UsageGroupKey, string> = {
  day: "date_trunc('day', $T)",
  hour: "$T",
  target: "target_id",
  team: "team",
  model: "model",
  repo: "repo",
  rootThread: "root",
};
/** How each group key's value is written in a row (day and hour as ISO 8601 strings); shared by /activity. */
export const FORMAT_SQL: Record<UsageGroupKey, (col: string) => string> = {
  day: (c) => `to_char(${c}, 'YYYY-MM-DD"T"00:00:00"Z"')`,
  hour: (c) => `to_char(${c}, 'YYYY-MM-DD"T"HH24:00:00"Z"')`,
  target: (c) => c,
  team: (c) => c,
  model: (c) => c,
  repo: (c) => c,
  rootThread: (c) => c,
};

const COUNTERS = [
  ["turns", "turns"],
  ["failed_turns", "failedTurns"],
  ["input_tokens", "inputTokens"],
  ["cached_input_tokens", "cachedInputTokens"],
  ["output_tokens", "outputTokens"],
  ["reasoning_output_tokens", "reasoningOutputTokens"],
  ["total_tokens", "totalTokens"],
  ["cost_usd", "costUsd"],
  ["unpriced_tokens", "unpricedTokens"],
] as const;
/** The most rows a usage answer carries. */
export const MAX_USAGE_ROWS = 10_000;
/** The most series a `top` keeps (a chart's colours run out long before). */
export const MAX_USAGE_TOP = 100;

/** How usage rows are ordered (queryUsage `sort`). */
export type UsageSort = "key" | "cost" | "tokens";
const SORT_COLUMN = { cost: "costUsd", tokens: "totalTokens" } as const;

const SUMS = COUNTERS.map(([c, k]) => `COALESCE(sum(${c}), 0)::float8 AS "${k}"`).join(", ");
/** The counters summed under their own names (cost stays numeric): a first pass of `top`. */
const RAW_SUMS = COUNTERS.map(([c]) => `sum(${c}) AS ${c}`).join(", ");

/** The folded grains' aligned spans in days, largest first (migration 20261207100000_usage_fold). */
export const USAGE_SPANS = [256, 128, 64, 32, 16, 8, 4, 2, 1] as const;

/** Which table serves a request's whole days: the coarsest one carrying every key and filter. */
export type UsageGrain = "team" | "span" | "daily";

export function usageGrain(groupBy: UsageGroupKey[], filters: UsageFilters): UsageGrain {
  const used = new Set<string>(groupBy.filter((k) => k !== "day"));
  for (const [k, v] of Object.entries(filters)) if (v && v.length > 0) used.add(k);
  const within = (keys: string[]) => [...used].every((k) => keys.includes(k));
  if (within(["team", "model"])) return "team";
  if (within(["team", "target"])) return "span";
  return "daily";
}

/**
 * The whole days [firstDayMs, endDayMs) as aligned blocks of USAGE_SPANS days (a block of s days
 * starts on a multiple of s days since the epoch), each the largest that fits: at most one of each
 * size on either side of the largest (30 days: 5 blocks on average, 7 at most).
 */
export function spanBlocks(firstDayMs: number, endDayMs: number): { span: number; startMs: number }[] {
  const out: { span: number; startMs: number }[] = [];
  const end = endDayMs / DAY_MS;
  for (let d = firstDayMs / DAY_MS; d < end; ) {
    const span = USAGE_SPANS.find((s) => d % s === 0 && d + s <= end) ?? 1;
    out.push({ span, startMs: d * DAY_MS });
    d += span;
  }
  return out;
}

/**
 * Which rows make up [fromMs, toMs). The hourly rollup's window is every hour h with
 * floor_hour(from) <= h < to; a day is read from usage_daily when all its 24 hours are in that
 * window, i.e. for days in [firstDay, endDay).
 */
export function usageWindow(fromMs: number, toMs: number, byHour: boolean) {
  const fromHour = Math.floor(fromMs / HOUR_MS) * HOUR_MS;
  const firstDay = Math.ceil(fromHour / DAY_MS) * DAY_MS;
  const endDay = Math.ceil((toMs - 23 * HOUR_MS) / DAY_MS) * DAY_MS;
  return { fromHour, toMs, days: !byHour && firstDay < endDay ? { firstDay, endDay } : null };
}

/** Rows grouped by `groupBy` (in that order) plus totals, for hours in [fromMs, toMs). */
export async function queryUsage(args: {
  pool: Pool;
  fromMs: number;
  toMs: number;
  groupBy: UsageGroupKey[];
  filters: UsageFilters;
  /** At most this many rows (default and most 10,000); `truncated` says whether there were more. */
  limit?: number;
  /**
   * The rows' order, and so which ones a limit keeps: by their keys (default), or the most cost
   * or tokens first (then by keys), e.g. a page's top spenders.
   */
  sort?: UsageSort;
  /**
   * Series, e.g. a chart stacked by developer: keep the `top` combinations of the keys other than
   * day and hour with the most `sort` (cost or tokens) over the whole window; every other group is
   * summed, per day or hour, into one row marked `other` without those keys. The rows then come
   * by day or hour, then by the series' rank, `other` last. A month of 1,000 developers is then 31
   * × (top + 1) rows, not 30,000 cut at `limit`.
   */
  top?: number;
  /**
   * From when the hourly rollup still holds every hour (retention prunes it: `hourlyDays`). A
   * partial last day starting at or after it is read from its day grain when nothing is stored
   * from `to` on that day; absent: always from its hours.
   */
  hourlyKeptFromMs?: number;
}): Promise<{ rows: UsageRow[]; totals: UsageCounters; truncated: boolean }> {
  const { pool, groupBy, filters } = args;
  const w = usageWindow(args.fromMs, args.toMs, groupBy.includes("hour"));
  const params: unknown[] = [];
  const at = (ms: number) => {
    params.push(ms);
    return `to_timestamp($${params.length} / 1000.0) AT TIME ZONE 'UTC'`;
  };
  const filterSql: string[] = [];
  for (const [key, col] of [
    ["team", "team"],
    ["target", "target_id"],
    ["model", "model"],
    ["repo", "repo"],
  ] as const) {
    const values = filters[key];
    if (values && values.length > 0) {
      params.push(values);
      filterSql.push(`${col} = ANY($${params.length}::text[])`);
    }
  }
  const and = (conds: string[]) => [...conds, ...filterSql].join(" AND ");
  // The hourly and usage_daily sources are aggregated on their own (a plain scan feeding a hash
  // aggregate; many rows a group), then the few partial groups are merged; a folded grain's rows
  // (a handful a group) and the pending ones feed the merge as they are. Token counters as float8:
  // exact for integers below 2^53 and summed by value, where sum(bigint) keeps a numeric state per
  // column and group (5,000 developers' groups spilled past work_mem); cost stays numeric (exact).
  // `n` counts the usage_daily (or hourly) rows behind a group: a group exists when it is positive.
  // A daily row's `day` is already the day: no date_trunc per row.
  const byRoot = groupBy.includes("rootThread");
  // The sources of one grouping `by` (the rows' keys, or none for the totals); `extra`: more
  // conditions on every source row (columns all sources share: target_id, team, model, repo).
  const sourceOf = (by: UsageGroupKey[], extra: string[] = []): string => {
    const andX = (conds: string[]) => and([...conds, ...extra]);
    const keys = (t: string, whole: boolean) =>
      by.map((k, i) => `${(whole && k === "day" ? "$T" : GROUP_SQL[k]).replace("$T", t)} AS k${i}`);
    const value = (c: string) => (c === "cost_usd" ? c : `${c}::float8`);
    const partial = (table: string, t: string, conds: string[]) => {
      const whole = table !== "usage_hourly";
      const sel = [
        ...keys(t, whole),
        ...COUNTERS.map(([c]) => `sum(${value(c)}) AS ${c}`),
        "count(*)::float8 AS n",
      ].join(", ");
      const group = by.length > 0 ? ` GROUP BY ${by.map((_, i) => i + 1).join(", ")}` : "";
      return `SELECT ${sel} FROM ${table} WHERE ${andX(conds)}${group}`;
    };
    const rowsOf = (table: string, t: string, conds: string[]) => {
      const sel = [...keys(t, true), ...COUNTERS.map(([c]) => `${value(c)} AS ${c}`), "n::float8 AS n"].join(
        ", ",
      );
      return `SELECT ${sel} FROM ${table} WHERE ${andX(conds)}`;
    };
    const wholeDays = (g: UsageGrain, firstDay: number, endDay: number, when: string[] = []): string[] => {
      const days = [`day >= ${at(firstDay)}`, `day < ${at(endDay)}`, ...when];
      if (g === "daily") return [partial("usage_daily", "day", days)];
      const pending = rowsOf("usage_fold_pending", "day", days);
      if (g === "team") return [rowsOf("usage_daily_team", "day", days), pending];
      const blocks = by.includes("day")
        ? ["span = 1", `start_day >= ${at(firstDay)}`, `start_day < ${at(endDay)}`, ...when]
        : [
            `(span, start_day) IN (${spanBlocks(firstDay, endDay)
              .map((b) => `(${b.span}, ${at(b.startMs)})`)
              .join(", ")})`,
            ...when,
          ];
      return [rowsOf("usage_span_target", "start_day", blocks), pending];
    };
    const hourly = (from: string, to: string, when: string[] = []) =>
      partial("usage_hourly", "hour", [`hour >= ${from}`, `hour < ${to}`, ...when]);
    // The rollups carry no thread: grouping by root thread reads the ledger (tokens, cost) and the
    // ended turns (turns, failedTurns) for the same hours instead, each thread mapped to its root.
    if (byRoot) {
      if (extra.length > 0) throw new Error("queryUsage: no extra conditions on the ledger's rows");
      return byRootSource(by, w, at, and);
    }
    if (!w.days) return hourly(at(w.fromHour), at(w.toMs));
    const { firstDay, endDay } = w.days;
    const parts: string[] = [];
    if (w.fromHour < firstDay) parts.push(hourly(at(w.fromHour), at(firstDay)));
    const grain = usageGrain(by, filters);
    parts.push(...wholeDays(grain, firstDay, endDay));
    if (endDay < w.toMs) {
      // The last day's hours before `to`. When that day holds nothing from `to` on — the usual
      // case: `to` is now — they are the whole day, read from its day grain (a row per group)
      // rather than its hourly rows (5,000 developers by mid-day: 80,000 rows, most of a 30-day
      // request's time; BENCHMARKS session 15). Only for a day whose hours retention has not
      // pruned: in an older one, "nothing stored after `to`" would not mean nothing happened.
      // One statement, one snapshot: the check and the branch it picks see the same rows (an
      // uncorrelated EXISTS: evaluated once, and the branch not taken is never run).
      const kept = args.hourlyKeptFromMs !== undefined && endDay >= args.hourlyKeptFromMs;
      const later = kept
        ? `EXISTS (SELECT 1 FROM usage_hourly WHERE hour >= ${at(w.toMs)} AND hour < ${at(endDay + DAY_MS)})`
        : null;
      if (later) parts.push(...wholeDays(grain, endDay, endDay + DAY_MS, [`NOT ${later}`]));
      parts.push(hourly(at(endDay), at(w.toMs), later ? [later] : []));
    }
    return parts.join(" UNION ALL ");
  };
  // The totals: every group's sums, i.e. the same window and filters without the keys, from the
  // coarsest grain that carries the filters (the same rows in other groupings: exact by the
  // fold, see usage-fold.test.ts), in the same statement (one snapshot). A `groupBy=hour` window
  // is read from hourly rows only and rootThread from the ledger: their totals from the same rows.
  // (Session 10 summed every source row a second time for them, as GROUPING SETS (keys, ()).)
  const totalsSource = byRoot ? sourceOf(groupBy) : sourceOf([]);
  if (groupBy.length === 0) {
    const { rows } = await pool.query<UsageCounters>(`SELECT ${SUMS} FROM (${totalsSource}) u`, params);
    return { rows: [], totals: rows[0] as UsageCounters, truncated: false };
  }
  const limit = Math.min(args.limit ?? MAX_USAGE_ROWS, MAX_USAGE_ROWS);
  // One row past the limit tells whether there were more (a count of every group would end the
  // sorted aggregate's early stop below).
  params.push(limit + 1);
  const limitParam = `$${params.length}`;
  const keyCols = groupBy.map((_, i) => `k${i}`).join(", ");
  const order = args.sort && args.sort !== "key" ? `"${SORT_COLUMN[args.sort]}" DESC, ${keyCols}` : keyCols;
  const formatted = groupBy.map((k, i) => `${FORMAT_SQL[k](`k${i}`)} AS "${k}"`).join(", ");
  const counters = COUNTERS.map(([, k]) => `"${k}"`).join(", ");
  // work_mem: a month of 5,000 developers' groups (or a day×target of 30,000) spills past the
  // default 4 MB into temp files and takes ~2x as long; the setting lasts this transaction only.
  // Grouped by day from the span grain, a group is one span-1 row (or a few): sorted, the groups
  // come out in the answer's order and the first `limit` end the scan's aggregation (a hash
  // aggregate builds all 30,000 groups of 11 sums, then sorts them: twice the time in EXPLAIN
  // ANALYZE, session 11; with several rows a group, as `target,team`, hashing stays faster). JIT,
  // which that plan's cost estimate switches on, compiles for longer (~20 ms) than it saves.
  // With `top` every group is needed (no early stop): hashed, and ranked in memory; JIT as above.
  const sortedAggregate = usageGrain(groupBy, filters) === "span" && groupBy.includes("day") && w.days;
  const settings =
    args.top !== undefined
      ? "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"
      : sortedAggregate
        ? "SET LOCAL work_mem = '64MB'; SET LOCAL enable_hashagg = off; SET LOCAL jit = off"
        : "SET LOCAL work_mem = '64MB'";
  // Each source is built only where it is read (building one adds its bound parameters).
  const grouped =
    args.top === undefined
      ? `SELECT ${keyCols}, ${SUMS} FROM (${sourceOf(groupBy)}) u GROUP BY ${keyCols} HAVING sum(n) > 0
           ORDER BY ${order} LIMIT ${limitParam}`
      : // A grouping within {day, team, model} has few groups (teams × models × days): ranking
        // them in one pass is cheapest (the ranked path reads the per-team grain and today's
        // hourly rows three times: a 365-day series was slower that way). Developers or repos
        // make thousands: rank first. Root threads come from the ledger, where the kept keys
        // cannot be a condition on the rows.
        byRoot || usageGrain(groupBy, filters) === "team"
        ? topSeriesSql({
            groupBy,
            source: sourceOf(groupBy),
            top: args.top,
            sort: args.sort,
            params,
            limitParam,
          })
        : rankedSeriesSql({ groupBy, sourceOf, top: args.top, sort: args.sort, params, limitParam });
  const { rows } = await inTransaction(pool, `BEGIN READ ONLY; ${settings}`, (client) =>
    client.query<UsageRow & { total: boolean; other: boolean }>(
      `SELECT * FROM (
         SELECT ${formatted}, false AS total, ${args.top === undefined ? "false" : "other"} AS other, ${counters}
         FROM (${grouped}) g) r
       UNION ALL SELECT ${groupBy.map((k) => `NULL AS "${k}"`).join(", ")}, true, false, ${SUMS} FROM (${totalsSource}) t`,
      params,
    ),
  );
  let totals: UsageCounters | null = null;
  const out: UsageRow[] = [];
  for (const { total, other, ...row } of rows) {
    if (total) totals = pickCounters(row);
    else out.push(other ? { ...withoutSeriesKeys(row, groupBy), other: true } : row);
  }
  const truncated = out.length > limit;
  if (truncated) out.length = limit;
  return { rows: out, totals: totals ?? zeroCounters(), truncated };
}

/** Group keys that are time buckets: a series runs along them (queryUsage `top`). */
const isTimeKey = (k: UsageGroupKey) => k === "day" || k === "hour";

/**
 * Why `top` cannot answer this request, or null: it needs `sort=cost|tokens` (what ranks the
 * series) and a group key other than day or hour (the series). The route's 400 and queryUsage's
 * own check both ask this.
 */
export function usageTopProblem(
  groupBy: readonly UsageGroupKey[],
  sort: UsageSort | undefined,
): string | null {
  if (sort !== "cost" && sort !== "tokens") return "needs sort=cost or sort=tokens (what ranks the series)";
  if (groupBy.every(isTimeKey)) return "needs a group key other than day or hour (the series)";
  return null;
}

/** What both ways of answering `top` take. */
interface TopArgs {
  groupBy: UsageGroupKey[];
  top: number;
  sort: UsageSort | undefined;
  params: unknown[];
  limitParam: string;
}

/** Checks `top`'s preconditions (the route refuses them first), binds N; the ranking column. */
function bindTop(a: TopArgs): { top: string; metric: "cost_usd" | "total_tokens" } {
  const problem = usageTopProblem(a.groupBy, a.sort);
  if (problem) throw new Error(`queryUsage: top ${problem}`);
  a.params.push(a.top);
  return { top: `$${a.params.length}`, metric: a.sort === "cost" ? "cost_usd" : "total_tokens" };
}

/**
 * queryUsage's `top`: every group of `source` (keys k0…), the series (the non-time keys) ranked by
 * their `sort` total over the window — a hash aggregate of the groups into one row a series, so
 * only those rows are sorted — and the groups of the first `top` joined back to keep their keys;
 * every other group is summed per time bucket into one row with `other` set and its series keys
 * NULL. The join is a plain equality: no group key of the rollups or the ledger is ever NULL (NOT
 * NULL columns; a root thread is an id). Cost is summed as numeric in both passes (exact).
 */
function topSeriesSql(a: TopArgs & { source: string }): string {
  const { top, metric } = bindTop(a);
  const time = a.groupBy.flatMap((k, i) => (isTimeKey(k) ? [`g.k${i}`] : []));
  const series = a.groupBy.flatMap((k, i) => (isTimeKey(k) ? [] : [`k${i}`]));
  const keyCols = a.groupBy.map((_, i) => `k${i}`).join(", ");
  const keys = a.groupBy.map((k, i) => (isTimeKey(k) ? `g.k${i}` : `kept.k${i}`));
  return `WITH g AS MATERIALIZED (SELECT ${keyCols}, ${RAW_SUMS} FROM (${a.source}) u GROUP BY ${keyCols} HAVING sum(n) > 0),
    kept AS (SELECT ${series.join(", ")}, row_number() OVER (ORDER BY sum(${metric}) DESC, ${series.join(", ")}) AS rank
      FROM g GROUP BY ${series.join(", ")} ORDER BY rank LIMIT ${top})
    SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(", ")}, kept.rank IS NULL AS other, ${SUMS}
    FROM g LEFT JOIN kept USING (${series.join(", ")})
    GROUP BY ${[...time, "kept.rank", ...series.map((c) => `kept.${c}`)].join(", ")}
    ORDER BY ${[...time, "kept.rank NULLS LAST"].join(", ")} LIMIT ${a.limitParam}`;
}

/**
 * queryUsage's `top` over the rollups, ranking first so that only the kept series are read by
 * bucket: (1) the series ranked on their own grouping (for `day,target`, the developers' totals
 * from the span grain's aligned blocks: a few rows a developer, not one a day); (2) the kept
 * series' rows, read with the kept keys as a condition; (3) each bucket's total from its coarsest
 * grain (a day's from the per-team grain); the `other` row of a bucket is its total minus its kept
 * rows (exact: token sums are integers in float8, cost numeric), present when any counter of it is
 * not zero. Every key is a NOT NULL column, so the kept keys are matched by plain equality.
 */
function rankedSeriesSql(
  a: TopArgs & { sourceOf: (by: UsageGroupKey[], extra?: string[]) => string },
): string {
  const { top, metric } = bindTop(a);
  const timeKeys: UsageGroupKey[] = a.groupBy.filter(isTimeKey);
  const seriesKeys = a.groupBy.filter((k) => !isTimeKey(k));
  const s = seriesKeys.map((_, j) => `k${j}`);
  const t = timeKeys.map((_, j) => `k${j}`);
  // Where each group key sits in `groupBy` (the named rows' k<i>).
  const at = (k: UsageGroupKey) => `k${a.groupBy.indexOf(k)}`;
  const keptCond = `(${seriesKeys.map((k) => GROUP_SQL[k]).join(", ")}) IN (SELECT ${s.join(", ")} FROM kept)`;
  const named = a.groupBy.map((_, i) => `k${i}`).join(", ");
  const rankSource = a.sourceOf(seriesKeys);
  const namedSource = a.sourceOf(a.groupBy, [keptCond]);
  const bucketSource = a.sourceOf(timeKeys);
  const onKept = seriesKeys.map((k, j) => `n.${at(k)} = kept.k${j}`).join(" AND ");
  const onTime = timeKeys.length > 0 ? timeKeys.map((k, j) => `b.k${j} = x.${at(k)}`).join(" AND ") : "true";
  const diff = COUNTERS.map(([c]) => `b.${c} - COALESCE(x.${c}, 0) AS ${c}`).join(", ");
  const anyLeft = COUNTERS.map(([c]) => `b.${c} <> COALESCE(x.${c}, 0)`).join(" OR ");
  // The other row of a bucket: its time keys, NULL for the series keys.
  const otherKeys = a.groupBy
    .map((k, i) => `${isTimeKey(k) ? `b.k${timeKeys.indexOf(k)}` : "NULL"} AS k${i}`)
    .join(", ");
  const sums = COUNTERS.map(([c, k]) => `COALESCE(${c}, 0)::float8 AS "${k}"`).join(", ");
  return `WITH kept AS MATERIALIZED (
      SELECT ${s.join(", ")}, row_number() OVER (ORDER BY m DESC, ${s.join(", ")}) AS rank FROM (
        SELECT ${s.join(", ")}, sum(${metric}) AS m FROM (${rankSource}) u GROUP BY ${s.join(", ")} HAVING sum(n) > 0) r
      ORDER BY rank LIMIT ${top}),
    named AS MATERIALIZED (SELECT ${named}, ${RAW_SUMS} FROM (${namedSource}) u GROUP BY ${named} HAVING sum(n) > 0),
    buckets AS (SELECT ${[...t, RAW_SUMS].join(", ")} FROM (${bucketSource}) u${t.length > 0 ? ` GROUP BY ${t.join(", ")}` : ""})
    SELECT ${named}, other, ${sums} FROM (
      SELECT ${a.groupBy.map((_, i) => `n.k${i}`).join(", ")}, false AS other, kept.rank, ${COUNTERS.map(([c]) => `n.${c}`).join(", ")}
      FROM named n JOIN kept ON ${onKept}
      UNION ALL
      SELECT ${otherKeys}, true, NULL, ${diff}
      FROM buckets b LEFT JOIN (SELECT ${[...timeKeys.map(at), RAW_SUMS].join(", ")} FROM named${
        timeKeys.length > 0 ? ` GROUP BY ${timeKeys.map(at).join(", ")}` : ""
      }) x ON ${onTime}
      WHERE ${anyLeft}) r
    ORDER BY ${[...a.groupBy.flatMap((k, i) => (isTimeKey(k) ? [`k${i}`] : [])), "rank NULLS LAST"].join(", ")}
    LIMIT ${a.limitParam}`;
}

/** A folded row carries no series keys (queryUsage `top`). */
function withoutSeriesKeys(row: UsageRow, groupBy: UsageGroupKey[]): UsageRow {
  const out = { ...row };
  for (const k of groupBy) if (!isTimeKey(k)) delete out[k];
  return out;
}

/**
 * The rows of `groupBy` (which includes rootThread) for the hours of window `w`: usage events
 * (the same rows the rollups sum) and ended turns (by the hour the rollup counted them: completion,
 * else start), then each thread's root (thread-tree.ts: a bounded walk up the parent links).
 * A turn that ended with neither time known (counted in the rollup at its receive hour) is not
 * in these rows; a turn's repo is its thread's current one.
 */
function byRootSource(
  groupBy: UsageGroupKey[],
  w: ReturnType<typeof usageWindow>,
  at: (ms: number) => string,
  and: (conds: string[]) => string,
): string {
  const from = at(w.fromHour);
  // floor_hour(x) < to  <=>  x < ceil_hour(to): an index range on the ledger's time.
  const to = at(Math.ceil(w.toMs / HOUR_MS) * HOUR_MS);
  const keys = groupBy.map((k, i) =>
    k === "day" || k === "hour" ? `date_trunc('${k}', d.at) AS k${i}` : `${GROUP_SQL[k]} AS k${i}`,
  );
  const sel = [...keys, ...COUNTERS.map(([c]) => `sum(${c}) AS ${c}`), "count(*) AS n"].join(", ");
  const zero = "0::numeric";
  return `WITH RECURSIVE d AS MATERIALIZED (
      SELECT at, thread_id, target_id, team, model, repo, ${zero} AS turns, ${zero} AS failed_turns, input_tokens,
         cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens
      FROM usage_event WHERE ${and([`at >= ${from}`, `at < ${to}`])}
      UNION ALL
      SELECT at, thread_id, target_id, team, model, repo, 1, (status = 'failed')::int, 0, 0, 0, 0, 0, 0, 0 FROM (
        SELECT COALESCE(t.completed_at, t.started_at) AS at, t.thread_id, t.target_id, t.status,
           COALESCE(tg.team, '') AS team, COALESCE(t.model, th.model, 'unknown') AS model, COALESCE(th.repo, '') AS repo
        FROM turn t LEFT JOIN target tg ON tg.id = t.target_id LEFT JOIN thread th ON th.id = t.thread_id
        WHERE t.end_counted AND COALESCE(t.completed_at, t.started_at) >= ${from}
          AND COALESCE(t.completed_at, t.started_at) < ${to}) e
      WHERE ${and(["true"])}
    ), walk(start, id, parent, depth, path) AS (${rootWalkSql("SELECT DISTINCT thread_id AS id FROM d", "walk")}
    ), roots AS (SELECT DISTINCT ON (start) start, id AS root FROM walk ORDER BY start, depth DESC)
    SELECT ${sel} FROM d JOIN roots r ON r.start = d.thread_id GROUP BY ${groupBy.map((_, i) => i + 1).join(", ")}`;
}

function pickCounters(row: UsageCounters): UsageCounters {
  const out = {} as UsageCounters;
  for (const [, k] of COUNTERS) out[k] = row[k];
  return out;
}

function zeroCounters(): UsageCounters {
  const out = {} as UsageCounters;
  for (const [, k] of COUNTERS) out[k] = 0;
  return out;
}
