/**
 * Seeds the `usage_hourly` rollup (what GET /api/v1/usage reads) with set-based SQL: `developers`
 * targets in 20 teams, each working 10 hours a day for `days` days on two (model, repo) pairs per
 * hour, so that the rows sum to exactly `turns` turns. Token counts are deterministic functions of
 * the row (no random()), so two runs seed the same data.
 */
import type { DbPool } from "@codex-fleet/db/client";

/** What the seed wrote. */
export interface SeedResult {
  developers: number;
  days: number;
  rows: number;
  turns: number;
  ms: number;
}

const MODELS = ["gpt-5.5", "gpt-5.5-mini", "gpt-5.4-codex", "o4-mini"];

/** Seed targets and `usage_hourly`; the newest hour is the one before `nowMs`. */
export async function seedUsageHourly(args: {
  pool: DbPool;
  developers: number;
  days: number;
  turns: number;
  nowMs: number;
}): Promise<SeedResult> {
  const { pool, developers, days, turns, nowMs } = args;
  const started = performance.now();
  const hoursPerDay = 10;
  const pairs = 2;
  const rows = developers * days * hoursPerDay * pairs;
  const base = Math.floor(turns / rows);
  const extra = turns - base * rows; // the first `extra` rows get one more turn
  await pool.query(
    `INSERT INTO target (id, team, url)
     SELECT 'dev-' || lpad(i::text, 5, '0'), 'team-' || lpad((i % 20)::text, 2, '0'), 'ws://127.0.0.1:1/' || i
     FROM generate_series(1, $1::int) AS i ON CONFLICT (id) DO NOTHING`,
    [developers],
  );
  // Row number n = ((i-1)*days + d)*hours*pairs + h*pairs + k, 0-based; every key is distinct.
  await pool.query(
    `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, failed_turns, input_tokens,
        cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens)
     SELECT hour, target_id, team, model, repo, t, t / 12, t * 21000, t * 16000, t * 450, t * 120,
            t * 21450, round(t * 0.061, 6), CASE WHEN model = 'o4-mini' THEN t * 21450 ELSE 0 END
     FROM (
       SELECT date_trunc('day', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC') - make_interval(days => d + 1)
                + make_interval(hours => 7 + (i % 5) + h) AS hour,
              'dev-' || lpad(i::text, 5, '0') AS target_id,
              'team-' || lpad((i % 20)::text, 2, '0') AS team,
              ($5::text[])[1 + ((i + k * 3 + d) % 4)] AS model,
              'github.com/acme/repo-' || lpad(((i % 20) * 3 + ((k + d) % 3))::text, 2, '0') AS repo,
              $3::int + CASE WHEN (((i - 1) * $2 + d) * 10 + h) * 2 + k < $4 THEN 1 ELSE 0 END AS t
       FROM generate_series(1, $6::int) AS i, generate_series(0, $2 - 1) AS d,
            generate_series(0, 9) AS h, generate_series(0, 1) AS k
     ) x`,
    [nowMs, days, base, extra, MODELS, developers],
  );
  await pool.query("ANALYZE usage_hourly");
  const { rows: check } = await pool.query<{ turns: number; rows: number }>(
    "SELECT COALESCE(sum(turns), 0)::float8 AS turns, count(*)::int AS rows FROM usage_hourly",
  );
  return {
    developers,
    days,
    rows: Number(check[0]?.rows ?? 0),
    turns: Number(check[0]?.turns ?? 0),
    ms: performance.now() - started,
  };
}
