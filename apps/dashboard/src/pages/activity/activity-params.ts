/**
 * The Activity page's API queries. Its URL state is the Usage page's (range, from/to, team,
 * target, model, repo: parseUsageParams/usageWindow), so a link can switch between the two pages.
 */
import type { ActivityGroupKey } from "@codex-fleet/protocol/activity";
import { withQuery } from "../../lib/api-client.ts";
import type { UsageParams, Window } from "../usage/usage-params.ts";

/** GET /api/v1/activity URL for a grouping, window and filters; `format` for the export links. */
export function activityUrl(
  window: Window,
  groupBy: ActivityGroupKey[],
  filters: UsageParams["filters"],
  format?: "csv" | "json",
): string {
  return withQuery("/api/v1/activity", {
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    groupBy: groupBy.join(","),
    ...filters,
    format: format ?? null,
  });
}

/** Today so far (UTC day start → now): the Fleet page's "waited today" window. */
export function todayWindow(nowMs: number): Window {
  return { fromMs: Math.floor(nowMs / 86_400_000) * 86_400_000, toMs: nowMs, bucket: "day" };
}

/** Agent time waiting on people: approval plus input. */
export function waitingMs(row: { waitingOnApprovalMs: number; waitingOnInputMs: number }): number {
  return row.waitingOnApprovalMs + row.waitingOnInputMs;
}
