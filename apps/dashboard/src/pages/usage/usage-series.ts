/** Turns usage rows into what the Usage page draws: stacked series, spenders, models. */
import type { UsageCounters, UsageRow } from "@codex-fleet/protocol/api";
import type { Bucket, Metric, Stack } from "./usage-params.ts";

/** Label of rows whose stack key is missing (e.g. a thread outside any git repo). */
export const NONE_KEY = "(none)";
/** Label of the series that sums everything past the top N. */
export const OTHER_KEY = "Other";
/** At most this many named series; the rest is folded into "Other" so colours stay readable. */
export const MAX_SERIES = 8;

/** One point of the stacked chart: bucket start, a value per series, unpriced tokens of the bucket. */
export type SeriesPoint = { bucketMs: number; unpricedTokens: number } & Record<string, number>;

export type StackedSeries = { keys: string[]; points: SeriesPoint[] };

/** The value a row contributes under `metric`. */
export function metricValue(
  counters: Pick<UsageCounters, "totalTokens" | "costUsd">,
  metric: Metric,
): number {
  return metric === "cost" ? counters.costUsd : counters.totalTokens;
}

/** The stack key of a row, "(none)" when absent. */
export function stackKey(row: UsageRow, stack: Stack): string {
  return row[stack] || NONE_KEY;
}

/** Epoch ms of the row's bucket, or null when the row has no (valid) bucket. */
export function rowBucketMs(row: UsageRow, bucket: Bucket): number | null {
  const value = row[bucket];
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Pivots `groupBy=<bucket>,<stack>` rows into one point per bucket (all `bucketStarts`, zero-filled)
 * with the top series by total `metric`, the rest summed as "Other". Rows the API already folded
 * (`other`, the page asks `top=MAX_SERIES - 1`) go to "Other" too, so the chart is the same
 * whether the API or this function folds.
 */
export function stackSeries(
  rows: UsageRow[],
  options: { bucket: Bucket; stack: Stack; metric: Metric; bucketStarts: number[] },
): StackedSeries {
  const totals = new Map<string, number>();
  let folded = false;
  for (const row of rows) {
    if (row.other) {
      folded = true;
      continue;
    }
    const key = stackKey(row, options.stack);
    totals.set(key, (totals.get(key) ?? 0) + metricValue(row, options.metric));
  }
  const ranked = [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([key]) => key);
  // One colour is "Other" as soon as anything is folded into it.
  const cut = ranked.length > MAX_SERIES || (folded && ranked.length >= MAX_SERIES);
  const named = cut ? ranked.slice(0, MAX_SERIES - 1) : ranked;
  const keys = cut || folded ? [...named, OTHER_KEY] : named;
  const namedSet = new Set(named);

  const points = new Map<number, SeriesPoint>();
  const emptyPoint = (bucketMs: number): SeriesPoint => {
    const point = { bucketMs, unpricedTokens: 0 } as SeriesPoint;
    for (const key of keys) point[key] = 0;
    return point;
  };
  for (const start of options.bucketStarts) points.set(start, emptyPoint(start));
  for (const row of rows) {
    const bucketMs = rowBucketMs(row, options.bucket);
    if (bucketMs === null) continue;
    let point = points.get(bucketMs);
    if (!point) {
      point = emptyPoint(bucketMs);
      points.set(bucketMs, point);
    }
    const key =
      !row.other && namedSet.has(stackKey(row, options.stack)) ? stackKey(row, options.stack) : OTHER_KEY;
    point[key] = (point[key] ?? 0) + metricValue(row, options.metric);
    point.unpricedTokens += row.unpricedTokens;
  }
  return { keys, points: [...points.values()].sort((a, b) => a.bucketMs - b.bucketMs) };
}

/** Sum of counters (for table footers). */
export function sumCounters(rows: UsageCounters[]): UsageCounters {
  const total: UsageCounters = {
    turns: 0,
    failedTurns: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    reasoningOutputTokens: 0,
    totalTokens: 0,
    costUsd: 0,
    unpricedTokens: 0,
  };
  for (const row of rows) {
    for (const key of Object.keys(total) as (keyof UsageCounters)[]) total[key] += row[key];
  }
  return total;
}

/** Rows sorted by `metric`, largest first, ties by total tokens. */
export function rankRows<T extends UsageCounters>(rows: T[], metric: Metric): T[] {
  return [...rows].sort(
    (a, b) => metricValue(b, metric) - metricValue(a, metric) || b.totalTokens - a.totalTokens,
  );
}

/** "priced" / "partly unpriced" / "unpriced": how much of a row's usage has a price. */
export function pricing(
  counters: Pick<UsageCounters, "totalTokens" | "unpricedTokens">,
): "priced" | "partial" | "unpriced" {
  if (counters.unpricedTokens <= 0) return "priced";
  return counters.unpricedTokens >= counters.totalTokens ? "unpriced" : "partial";
}
