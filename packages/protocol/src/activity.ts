/**
 * Activity (issue 15): what the fleet did over time and how long agents waited on people.
 *
 * The collector turns each thread's status transitions (receive time) into spans of one kind —
 * working (active, no wait flag), waiting on approval, waiting on user input, system error — and
 * each wait (a wait flag raised, then cleared) into one ended wait with its outcome. Only what it
 * observed is counted: time while it was disconnected, or while no instance held the target during
 * a handover, is unknown and never invented. The rollups (migration 20261206120000_activity) keep
 * sums and fixed-bucket histograms; percentiles are estimated from the histograms
 * ({@link histogramQuantile}).
 */
import { z } from "zod";
import { UsageGroupValuesSchema } from "./api.ts";

/** The kinds of observed time (idle and notLoaded are not activity). */
export const ACTIVITY_KINDS = ["working", "waitingOnApproval", "waitingOnInput", "systemError"] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/** Which kind of time a thread status is: null for idle, notLoaded and statuses unknown to us. */
export function activityKind(status: string, activeFlags: readonly string[]): ActivityKind | null {
  if (status === "active") {
    if (activeFlags.includes("waitingOnApproval")) return "waitingOnApproval";
    if (activeFlags.includes("waitingOnUserInput")) return "waitingOnInput";
    return "working";
  }
  if (status === "systemError") return "systemError";
  return null;
}

/** The wait a kind of time is, if any. */
export function waitOf(kind: ActivityKind | null): WaitKind | null {
  if (kind === "waitingOnApproval") return "approval";
  if (kind === "waitingOnInput") return "input";
  return null;
}

export type WaitKind = "approval" | "input";
/**
 * How a wait ended: `answered` — its flag cleared and the thread went on working or waiting on
 * something else; `unanswered` — the thread stopped (idle: interrupted or cancelled; systemError;
 * unloaded) with the wait still up; `unknown` — the collector stopped observing (disconnect,
 * handover), so its end is not known and it counts in no duration.
 */
export type WaitOutcome = "answered" | "unanswered" | "unknown";

/**
 * Upper bounds (ms, inclusive) of the turn-duration histogram buckets dur_h0 … dur_h8; dur_h9 is
 * everything above the last bound. 5 s, 15 s, 30 s, 1 min, 2 min, 5 min, 10 min, 20 min, 1 h.
 */
export const TURN_DURATION_BOUNDS_MS = [
  5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_200_000, 3_600_000,
] as const;

/**
 * Upper bounds (ms, inclusive) of the time-to-answer histogram buckets ans_h0 … ans_h8; ans_h9 is
 * everything above. 10 s, 30 s, 1 min, 2 min, 5 min, 10 min, 30 min, 1 h, 4 h.
 */
export const ANSWER_BOUNDS_MS = [
  10_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 14_400_000,
] as const;

/** The histogram bucket (0 … bounds.length) a value falls in. */
export function bucketOf(bounds: readonly number[], valueMs: number): number {
  for (let i = 0; i < bounds.length; i++) if (valueMs <= (bounds[i] as number)) return i;
  return bounds.length;
}

/**
 * The q-quantile (0 < q < 1) of a histogram with `counts[i]` values in bucket i, interpolated
 * linearly inside its bucket (from the previous bound, or 0, to its bound). A quantile in the
 * open last bucket is its lower bound (the estimate says "at least"). Null when empty.
 */
export function histogramQuantile(
  bounds: readonly number[],
  counts: readonly number[],
  q: number,
): number | null {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n <= 0) return null;
  const rank = q * n;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (c > 0 && below + c >= rank) {
      const lo = i === 0 ? 0 : (bounds[i - 1] as number);
      if (i >= bounds.length) return lo;
      const hi = bounds[i] as number;
      return Math.round(lo + ((rank - below) / c) * (hi - lo));
    }
    below += c;
  }
  return bounds[bounds.length - 1] ?? null;
}

/** Group keys of /api/v1/activity: those of /api/v1/usage except rootThread (status time has no tree roll-up). */
export const ACTIVITY_GROUP_KEYS = ["day", "hour", "target", "team", "model", "repo"] as const;
export const ActivityGroupKeySchema = z.enum(ACTIVITY_GROUP_KEYS);
export type ActivityGroupKey = z.infer<typeof ActivityGroupKeySchema>;

/** The counters of one activity row (or the totals). */
export const ActivityCountersSchema = z.object({
  turnsStarted: z.number(),
  turnsCompleted: z.number(),
  turnsFailed: z.number(),
  turnsInterrupted: z.number(),
  /** Estimated from the histogram (TURN_DURATION_BOUNDS_MS) of the turns that ended; null: none. */
  turnDurationP50Ms: z.number().nullable(),
  turnDurationP90Ms: z.number().nullable(),
  /** Observed time per kind, summed over threads (two threads working for an hour = 2 h). */
  workingMs: z.number(),
  waitingOnApprovalMs: z.number(),
  waitingOnInputMs: z.number(),
  systemErrorMs: z.number(),
  /** Waits that ended in the period, per kind, and how many of them were answered. */
  approvalWaits: z.number(),
  inputWaits: z.number(),
  answeredWaits: z.number(),
  /** Time to answer (answered waits of both kinds), estimated from ANSWER_BOUNDS_MS; null: none. */
  timeToAnswerP50Ms: z.number().nullable(),
  timeToAnswerP90Ms: z.number().nullable(),
  /** Threads active at once (working or waiting), on average over the period: active time / its length. */
  activeThreadsAvg: z.number(),
  /**
   * The most threads active at once in the period (sampled every 15 s). Null when the grouping
   * and filters ask for a combination the samples do not keep (they are kept for the fleet and
   * per team, target, model and repo: one dimension at a time).
   */
  activeThreadsPeak: z.number().nullable(),
});
export type ActivityCounters = z.infer<typeof ActivityCountersSchema>;

/** An activity row: the group keys asked for (day/hour as ISO strings), then the counters. */
export const ActivityRowSchema = ActivityCountersSchema.extend(
  UsageGroupValuesSchema.omit({ rootThread: true }).shape,
);
export type ActivityRow = z.infer<typeof ActivityRowSchema>;

/**
 * GET /api/v1/activity?from&to&groupBy&team&target&model&repo&format — groupings, filters and
 * window rules as /api/v1/usage (whole hours; default the last 7 days; at most 400 days).
 */
export const ActivityResponseSchema = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: z.array(ActivityGroupKeySchema),
  rows: z.array(ActivityRowSchema),
  totals: ActivityCountersSchema,
  /** Failed turns per error kind (`codexErrorInfo`) over the window and filters, most frequent first. */
  failureKinds: z.array(z.object({ kind: z.string().nullable(), failedTurns: z.number() })),
});
export type ActivityResponse = z.infer<typeof ActivityResponseSchema>;

/** The CSV columns of /api/v1/activity after the group keys. */
export const ACTIVITY_COUNTER_COLUMNS = Object.keys(
  ActivityCountersSchema.shape,
) as (keyof ActivityCounters)[];
