/**
 * Seeds the `usage_hourly` rollup (what GET /api/v1/usage reads) with set-based SQL: `developers`
 * targets in 20 teams, each working 10 hours a day (UTC 07–20, shifted per developer) on two
 * (model, repo) pairs per hour, over the `days` days that end at `nowMs` (the current day up to
 * the current hour, like the dashboard's "30d" window), with exactly `turns` turns in all. Token
 * counts are deterministic functions of the row, so two runs seed the same data.
 */
import type { DbPool } from "@codex-fleet/db/client";

/** What the seed wrote. */
export interface SeedResult {
  rows: number;
  turns: number;
  /** The window holding every seeded hour: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  ms: number;
}

export const MODELS = ["gpt-5.5", "gpt-5.5-mini", "gpt-5.4-codex", "o4-mini"];
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The seeded rows' keys, before counters: ($1 from day, $2 days, $3 current hour, $4 developers, $5 models). */
export const KEYS = `
  SELECT hour, target_id, team, model, repo, row_number() OVER () AS rn FROM (
    SELECT to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC' + make_interval(days => d, hours => 7 + (i % 5) + h) AS hour,
           'dev-' || lpad(i::text, 5, '0') AS target_id,
           'team-' || lpad((i % 20)::text, 2, '0') AS team,
           ($5::text[])[1 + ((i + k * 3 + d) % 4)] AS model,
           'github.com/acme/repo-' || lpad(((i % 20) * 3 + ((k + d) % 3))::text, 2, '0') AS repo
    FROM generate_series(1, $4::int) AS i, generate_series(0, $2::int - 1) AS d,
         generate_series(0, 9) AS h, generate_series(0, 1) AS k
  ) x WHERE hour < to_timestamp($3 / 1000.0) AT TIME ZONE 'UTC'`;

/** Seed targets and `usage_hourly`. */
export async function seedUsageHourly(args: {
  pool: DbPool;
  developers: number;
  days: number;
  turns: number;
  nowMs: number;
}): Promise<SeedResult> {
  const { pool, developers, days, turns, nowMs } = args;
  const started = performance.now();
  const fromMs = Math.floor(nowMs / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
  const hourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const keyParams = [fromMs, days, hourMs, developers, MODELS];
  await pool.query(
    `INSERT INTO target (id, team, url)
     SELECT 'dev-' || lpad(i::text, 5, '0'), 'team-' || lpad((i % 20)::text, 2, '0'), 'ws://127.0.0.1:1/' || i
     FROM generate_series(1, $1::int) AS i ON CONFLICT (id) DO NOTHING`,
    [developers],
  );
  const { rows: counted } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (${KEYS}) k`,
    keyParams,
  );
  const rows = Number(counted[0]?.n ?? 0);
  const base = Math.floor(turns / rows);
  const extra = turns - base * rows; // the first `extra` rows get one more turn
  await pool.query(
    `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, failed_turns, input_tokens,
        cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens)
     SELECT hour, target_id, team, model, repo, t, t / 12, t * 21000, t * 16000, t * 450, t * 120,
            t * 21450, round(t * 0.061, 6), CASE WHEN model = 'o4-mini' THEN t * 21450 ELSE 0 END
     FROM (SELECT k.*, $6::int + CASE WHEN rn <= $7 THEN 1 ELSE 0 END AS t FROM (${KEYS}) k) s`,
    [...keyParams, base, extra],
  );
  // What autovacuum would have done by the time anyone queries a month of data.
  await pool.query("VACUUM ANALYZE usage_hourly");
  await pool.query("VACUUM ANALYZE usage_daily");
  const { rows: check } = await pool.query<{ turns: number; rows: number }>(
    "SELECT COALESCE(sum(turns), 0)::float8 AS turns, count(*)::int AS rows FROM usage_hourly",
  );
  return {
    rows: Number(check[0]?.rows ?? 0),
    turns: Number(check[0]?.turns ?? 0),
    fromMs,
    toMs: nowMs,
    ms: performance.now() - started,
  };
}
