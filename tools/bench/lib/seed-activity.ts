/**
 * Seeds the activity rollups (what GET /api/v1/activity reads) with set-based SQL, on the keys of
 * seed-usage.ts (`developers` targets in 20 teams, 10 working hours a day on two (model, repo)
 * pairs, over the `days` days that end at `nowMs`): `activity_hourly` (the daily rollup fills
 * through its triggers) and `activity_peak` for every scope the collector samples — the fleet,
 * each team, target, model and repo — for every hour with activity — then folds the per-team and
 * per-span grains (migration 20261206150000_activity_fold) as a collector would. Counters are deterministic
 * functions of the row, so two runs seed the same data.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { foldActivity } from "@codex-fleet/db/repositories/activity-fold";
import { ANSWER_BOUNDS_MS, TURN_DURATION_BOUNDS_MS } from "@codex-fleet/protocol/activity";
import { KEYS, MODELS } from "./seed-usage.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** What the seed wrote. */
export interface ActivitySeedResult {
  rows: number;
  peakRows: number;
  turnsStarted: number;
  /** The window holding every seeded hour: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  ms: number;
}

/** `n` histogram columns `prefix0…`, all of a row's `count` in the bucket `bucketSql` picks. */
const histogram = (prefix: string, n: number, bucketSql: string, count: string) =>
  Array.from(
    { length: n },
    (_, i) => `CASE WHEN ${bucketSql} = ${i} THEN ${count} ELSE 0 END AS ${prefix}${i}`,
  );

/** Seed targets, `activity_hourly` (and through it `activity_daily`) and `activity_peak`. */
export async function seedActivity(args: {
  pool: DbPool;
  developers: number;
  days: number;
  nowMs: number;
}): Promise<ActivitySeedResult> {
  const { pool, developers, days, nowMs } = args;
  const started = performance.now();
  const fromMs = Math.floor(nowMs / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
  const hourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  await pool.query(
    `INSERT INTO target (id, team, url)
     SELECT 'dev-' || lpad(i::text, 5, '0'), 'team-' || lpad((i % 20)::text, 2, '0'), 'ws://127.0.0.1:1/' || i
     FROM generate_series(1, $1::int) AS i ON CONFLICT (id) DO NOTHING`,
    [developers],
  );
  const dur = histogram("dur_h", TURN_DURATION_BOUNDS_MS.length + 1, "(rn * 7) % 10", "started");
  const ans = histogram("ans_h", ANSWER_BOUNDS_MS.length + 1, "(rn * 3) % 10", "answered");
  // Per (developer, hour, model, repo): 20–50 min working, some waiting, 2–5 turns, 0–2 waits.
  // In hour order, as the collector writes them: an hour's rows share pages (a window's partial
  // days read a few hundred pages, not one page per row).
  await pool.query(
    `INSERT INTO activity_hourly (hour, target_id, team, model, repo, working_ms, approval_wait_ms,
        input_wait_ms, system_error_ms, approval_waits, input_waits, answered_waits, answer_ms,
        ${ans.map((_, i) => `ans_h${i}`).join(", ")}, turns_started, turns_completed, turns_failed,
        turns_interrupted, timed_turns, turn_ms, ${dur.map((_, i) => `dur_h${i}`).join(", ")})
     SELECT hour, target_id, team, model, repo, working, approval_ms, input_ms, error_ms, approvals, inputs,
        answered, answered * 95000, ${ans.join(", ")}, started, started - failed - interrupted, failed,
        interrupted, started, started * 240000, ${dur.join(", ")}
     FROM (SELECT k.*, 1200000 + (rn % 7) * 300000 AS working, (rn % 5) * 60000 AS approval_ms,
             (rn % 3) * 30000 AS input_ms, CASE WHEN rn % 50 = 0 THEN 120000 ELSE 0 END AS error_ms,
             (rn % 5 > 0)::int AS approvals, (rn % 3 > 0)::int AS inputs,
             (rn % 5 > 0)::int + (rn % 3 > 0)::int - (rn % 11 = 0 AND rn % 5 > 0)::int AS answered,
             2 + rn % 4 AS started, (rn % 12 = 0)::int AS failed, (rn % 9 = 0)::int AS interrupted
           FROM (${KEYS}) k) s
     ORDER BY hour`,
    [fromMs, days, hourMs, developers, MODELS],
  );
  // The most threads active at once per hour and scope: what the collector's sampler would have
  // kept, approximated by the hour's active time in whole threads (at least one).
  const active = "GREATEST(1, ceil(sum(working_ms + approval_wait_ms + input_wait_ms) / 3600000.0))::int";
  for (const [scope, key] of [
    ["fleet", "''"],
    ["team", "team"],
    ["target", "target_id"],
    ["model", "model"],
    ["repo", "repo"],
  ] as const) {
    await pool.query(
      `INSERT INTO activity_peak (hour, scope, key, peak)
       SELECT hour, '${scope}', ${key}, ${active} FROM activity_hourly GROUP BY hour${scope === "fleet" ? "" : `, ${key}`} ORDER BY hour`,
    );
  }
  // What the collectors' activity fold (every few seconds) and autovacuum would have done by the
  // time anyone queries a month of data.
  await foldActivity(pool);
  for (const t of [
    "activity_hourly",
    "activity_daily",
    "activity_daily_target",
    "activity_fold_pending",
    "activity_daily_team",
    "activity_span_target",
    "activity_peak",
    "activity_peak_daily",
    "activity_peak_span",
  ])
    await pool.query(`VACUUM ANALYZE ${t}`);
  const { rows: check } = await pool.query<{ turns: number; rows: number; peaks: number }>(
    `SELECT COALESCE(sum(turns_started), 0)::float8 AS turns, count(*)::int AS rows,
       (SELECT count(*)::int FROM activity_peak) AS peaks FROM activity_hourly`,
  );
  return {
    rows: Number(check[0]?.rows ?? 0),
    peakRows: Number(check[0]?.peaks ?? 0),
    turnsStarted: Number(check[0]?.turns ?? 0),
    fromMs,
    toMs: nowMs,
    ms: performance.now() - started,
  };
}
