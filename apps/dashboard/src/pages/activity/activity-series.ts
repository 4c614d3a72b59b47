/** Activity rows (grouped by hour or day) → one chart point per bucket, empty buckets as zero. */
import type { ActivityRow } from "@codex-fleet/protocol/activity";
import type { Bucket } from "../usage/usage-params.ts";
import { waitingMs } from "./activity-params.ts";

export type ActivityPoint = {
  bucketMs: number;
  completed: number;
  failed: number;
  interrupted: number;
  activeAvg: number;
  /** Null when the samples do not cover this grouping/filter, or for an empty bucket. */
  activePeak: number | null;
  durationP50Ms: number | null;
  durationP90Ms: number | null;
  waitingMs: number;
};

/** One point per bucket start; rows outside the buckets are ignored. */
export function activitySeries(rows: ActivityRow[], bucket: Bucket, bucketStarts: number[]): ActivityPoint[] {
  const byStart = new Map<number, ActivityRow>();
  for (const row of rows) {
    const at = row[bucket];
    if (at !== undefined) byStart.set(Date.parse(at), row);
  }
  return bucketStarts.map((bucketMs) => {
    const row = byStart.get(bucketMs);
    return {
      bucketMs,
      completed: row?.turnsCompleted ?? 0,
      failed: row?.turnsFailed ?? 0,
      interrupted: row?.turnsInterrupted ?? 0,
      activeAvg: row?.activeThreadsAvg ?? 0,
      activePeak: row?.activeThreadsPeak ?? null,
      durationP50Ms: row?.turnDurationP50Ms ?? null,
      durationP90Ms: row?.turnDurationP90Ms ?? null,
      waitingMs: row ? waitingMs(row) : 0,
    };
  });
}

/** Waiting rows of one dimension, most waiting first (ties by name), rows that never waited last. */
export function rankByWaiting<T extends ActivityRow>(rows: T[], key: "target" | "team"): T[] {
  return [...rows].sort((a, b) => waitingMs(b) - waitingMs(a) || (a[key] ?? "").localeCompare(b[key] ?? ""));
}
