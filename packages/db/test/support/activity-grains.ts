/**
 * The coarser activity grains (migration 20261206140300_activity_grain) recomputed from the finer
 * ones, for tests that check the triggers keep them equal.
 */
import type { Pool } from "pg";

/** Every activity counter, as in activity_hourly / activity_daily. */
export const ACTIVITY_COUNTERS = [
  "working_ms",
  "approval_wait_ms",
  "input_wait_ms",
  "system_error_ms",
  "approval_waits",
  "input_waits",
  "answered_waits",
  "answer_ms",
  ...Array.from({ length: 10 }, (_, i) => `ans_h${i}`),
  "turns_started",
  "turns_completed",
  "turns_failed",
  "turns_interrupted",
  "timed_turns",
  "turn_ms",
  ...Array.from({ length: 10 }, (_, i) => `dur_h${i}`),
];

/**
 * activity_daily_target as stored, and as activity_daily summed over model and repo (with the
 * number of daily rows behind each), both in key order.
 */
export async function dailyTargetGrain(pool: Pool): Promise<{ stored: unknown[]; summed: unknown[] }> {
  const cols = ACTIVITY_COUNTERS.map((c) => `${c}::float8 AS ${c}`).join(", ");
  const sums = ACTIVITY_COUNTERS.map((c) => `sum(${c})::float8 AS ${c}`).join(", ");
  const stored = await pool.query(
    `SELECT day, target_id, team, ${cols}, daily_rows::int AS n FROM activity_daily_target ORDER BY 1, 2, 3`,
  );
  const summed = await pool.query(
    `SELECT day, target_id, team, ${sums}, count(*)::int AS n FROM activity_daily GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return { stored: stored.rows, summed: summed.rows };
}

/** activity_peak_daily as stored, and as activity_peak's maximum per day, both in key order. */
export async function peakDailyGrain(pool: Pool): Promise<{ stored: unknown[]; summed: unknown[] }> {
  const stored = await pool.query("SELECT scope, day, key, peak FROM activity_peak_daily ORDER BY 1, 2, 3");
  const summed = await pool.query(
    `SELECT scope, date_trunc('day', hour) AS day, key, max(peak) AS peak FROM activity_peak
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return { stored: stored.rows, summed: summed.rows };
}
