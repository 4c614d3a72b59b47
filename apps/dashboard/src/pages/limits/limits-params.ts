/**
 * The Plan limits page's URL state (`/limits?team=&q=&chart=&limit=&window=&range=`) and its API
 * URLs: the filters, and which developer's window the chart shows over which range.
 */
import { DEFAULT_LIMIT_ID, type LimitRow } from "@codex-fleet/protocol/limits";
import { withQuery } from "../../lib/api-client.ts";
import type { PlanWindowName } from "../../lib/plan-limits.ts";

export const HISTORY_RANGES = ["24h", "7d", "30d"] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];
/** How far back each range reaches. */
export const HISTORY_RANGE_MS: Record<HistoryRange, number> = {
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

/** The chart's subject: one window of one limit of one developer. */
export type ChartSelection = { target: string; limitId: string; window: PlanWindowName; range: HistoryRange };

export type LimitsParams = { team: string | null; q: string; chart: ChartSelection | null };

/** Decodes the URL; a missing window is the primary, a missing range fits the window (a day, a week). */
export function parseLimitsParams(search: URLSearchParams): LimitsParams {
  const target = search.get("chart");
  const window: PlanWindowName = search.get("window") === "secondary" ? "secondary" : "primary";
  const range = search.get("range");
  return {
    team: search.get("team") || null,
    q: search.get("q") ?? "",
    chart: target
      ? {
          target,
          limitId: search.get("limit") || DEFAULT_LIMIT_ID,
          window,
          range: HISTORY_RANGES.includes(range as HistoryRange)
            ? (range as HistoryRange)
            : window === "primary"
              ? "24h"
              : "7d",
        }
      : null,
  };
}

/** The URL patch that opens the chart on a row's window. */
export function chartPatch(row: Pick<LimitRow, "target" | "limitId">, window: PlanWindowName) {
  return {
    chart: row.target,
    limit: row.limitId === DEFAULT_LIMIT_ID ? null : row.limitId,
    window: window === "primary" ? null : window,
    range: null,
  };
}

/** Rows the filters keep: the team, and the search in the developer's name or team. */
export function filterRows(rows: LimitRow[], params: Pick<LimitsParams, "team" | "q">): LimitRow[] {
  const q = params.q.trim().toLowerCase();
  return rows.filter(
    (row) =>
      (!params.team || row.team === params.team) &&
      (!q || row.target.toLowerCase().includes(q) || row.team.toLowerCase().includes(q)),
  );
}

/** GET /api/v1/limits/history for the selection, ending at `nowMs`. */
export function historyUrl(chart: ChartSelection, nowMs: number): string {
  return withQuery("/api/v1/limits/history", {
    target: chart.target,
    limitId: chart.limitId,
    window: chart.window,
    from: new Date(nowMs - HISTORY_RANGE_MS[chart.range]).toISOString(),
    to: new Date(nowMs).toISOString(),
  });
}

/** GET /api/v1/limits with the team filter, for the export links. */
export function limitsUrl(team: string | null, format: "csv" | "json"): string {
  return withQuery("/api/v1/limits", { team, format: format === "csv" ? "csv" : null });
}
