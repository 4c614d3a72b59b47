/** The Usage page's URL state (`/usage?range=&from=&to=&team=…&stack=&metric=`) and API queries. */
import type { UsageGroupKey } from "@codex-fleet/protocol/api";
import { withQuery } from "../../lib/api-client.ts";

export const RANGES = ["24h", "7d", "30d", "custom"] as const;
export type Range = (typeof RANGES)[number];
/** `rootThread`: sub-agents' usage rolled up to the thread at the root of their tree. */
export const STACKS = ["model", "target", "team", "repo", "rootThread"] as const;
export type Stack = (typeof STACKS)[number];
export type Metric = "tokens" | "cost";
export type Bucket = "hour" | "day";
export const FILTER_KEYS = ["team", "target", "model", "repo"] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];

/** Everything the page shows, decoded from the URL with defaults for missing/invalid values. */
export type UsageParams = {
  range: Range;
  /**
   * Custom range bounds, only when range = custom: `YYYY-MM-DD` days (inclusive, UTC) as the date
   * pickers write them, or exact ISO instants for links built by other tools.
   */
  fromDay: string | null;
  toDay: string | null;
  filters: Record<FilterKey, string | null>;
  stack: Stack;
  metric: Metric;
  chart: "area" | "bar";
};

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

function pick<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** Decodes the URL; a custom range without valid days falls back to 7d. */
export function parseUsageParams(search: URLSearchParams): UsageParams {
  let range = pick(search.get("range"), RANGES, "7d");
  const fromDay = search.get("from");
  const toDay = search.get("to");
  const fromMs = fromDay === null ? Number.NaN : boundMs(fromDay, "from");
  const toMs = toDay === null ? Number.NaN : boundMs(toDay, "to");
  const validCustom = Number.isFinite(fromMs) && Number.isFinite(toMs) && fromMs < toMs;
  if (range === "custom" && !validCustom) range = "7d";
  return {
    range,
    fromDay: range === "custom" ? fromDay : null,
    toDay: range === "custom" ? toDay : null,
    filters: {
      team: search.get("team") || null,
      target: search.get("target") || null,
      model: search.get("model") || null,
      repo: search.get("repo") || null,
    },
    stack: pick(search.get("stack"), STACKS, "model"),
    metric: pick(search.get("metric"), ["tokens", "cost"] as const, "tokens"),
    chart: pick(search.get("chart"), ["area", "bar"] as const, "area"),
  };
}

/** The time window and bucket size of a view, as ms since epoch. */
export type Window = { fromMs: number; toMs: number; bucket: Bucket };

/**
 * Relative ranges end at `nowMs` and start on a bucket boundary so the first bucket is whole:
 * 24h = the current hour and the 23 before it; 7d/30d = whole UTC days (the API buckets days in
 * UTC). Custom ranges cover whole UTC days; up to 2 days they use hour buckets.
 */
export function usageWindow(params: UsageParams, nowMs: number): Window {
  if (params.range === "custom" && params.fromDay && params.toDay) {
    const fromMs = boundMs(params.fromDay, "from");
    const toMs = boundMs(params.toDay, "to");
    return { fromMs, toMs, bucket: toMs - fromMs <= 2 * DAY_MS ? "hour" : "day" };
  }
  if (params.range === "24h") {
    return { fromMs: Math.floor(nowMs / HOUR_MS) * HOUR_MS - 23 * HOUR_MS, toMs: nowMs, bucket: "hour" };
  }
  const days = params.range === "30d" ? 30 : 7;
  return { fromMs: Math.floor(nowMs / DAY_MS) * DAY_MS - (days - 1) * DAY_MS, toMs: nowMs, bucket: "day" };
}

/** A custom bound in ms: a day covers [00:00, 24:00) UTC; anything else must be an ISO instant. */
function boundMs(value: string, side: "from" | "to"): number {
  if (DAY_RE.test(value)) return Date.parse(`${value}T00:00:00Z`) + (side === "to" ? DAY_MS : 0);
  return /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
}

/** Start of every bucket in the window, so empty buckets still draw as zero. */
export function bucketStarts(window: Window): number[] {
  const step = window.bucket === "hour" ? HOUR_MS : DAY_MS;
  const starts: number[] = [];
  const first = Math.floor(window.fromMs / step) * step;
  for (let at = first; at < window.toMs && starts.length < 2000; at += step) starts.push(at);
  return starts;
}

/** GET /api/v1/usage URL for a grouping, with the window and the page's filters. */
export function usageUrl(
  window: Window,
  groupBy: UsageGroupKey[],
  filters: UsageParams["filters"],
  rank?: { sort: "cost" | "tokens"; limit?: number; top?: number },
): string {
  const text = (n: number | undefined) => (n === undefined ? undefined : String(n));
  return withQuery("/api/v1/usage", {
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    groupBy: groupBy.join(","),
    ...filters,
    ...(rank ? { sort: rank.sort, limit: text(rank.limit), top: text(rank.top) } : {}),
  });
}

/** How many developers "Top spenders" lists until "Show all" (the API ranks and cuts them). */
export const TOP_SPENDERS = 100;

/** GET /api/v1/usage/failures URL (failed turns by error kind) for a grouping, window and filters. */
export function failuresUrl(
  window: Window,
  groupBy: UsageGroupKey[],
  filters: UsageParams["filters"],
): string {
  return withQuery("/api/v1/usage/failures", {
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    groupBy: groupBy.join(","),
    ...filters,
  });
}
