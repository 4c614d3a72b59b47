/**
 * Seeds a year of a large organization (issue 13 goal 2) with set-based SQL, day by day in key
 * order: `developers` targets in 20 teams, each with two (model, repo) keys a day (the pattern of
 * seed-usage.ts) over the `days` days that end at `nowMs`. Whole past days go straight into
 * `usage_daily` (what the product keeps for them: hourly rows are pruned after
 * `retention.hourlyDays`), the current day into `usage_hourly` (whose trigger adds it to the daily
 * rollup like the ingest path does); the usage fold runs after each statement, as the collectors'
 * would have by then.
 * About `turnsPerKeyDay` turns per key and day (100 M turns for 5,000 developers x 365 days at
 * 27.4). Plus one thread of `threadTurns` ended turns with a ledger row each (figure d).
 */
import type { DbPool } from "@codex-fleet/db/client";
import { foldUsage } from "@codex-fleet/db/repositories/usage-fold";
import { MODELS } from "./seed-usage.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface YearSeed {
  dailyRows: number;
  hourlyRows: number;
  turns: number;
  /** The window holding every seeded day: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  threadId: string;
  ms: number;
}

// Counters as in seed-usage.ts: a deterministic function of the row's turns `t`.
const COUNTERS = `t, t / 12, t * 21000, t * 16000, t * 450, t * 120, t * 21450, round(t * 0.061, 6),
  CASE WHEN model = 'o4-mini' THEN t * 21450 ELSE 0 END`;
const COLUMNS = `turns, failed_turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
  total_tokens, cost_usd, unpriced_tokens`;
// Keys of developer i (1-based), key k (0/1) on day number d (days since the first seeded day).
const KEY_SQL = (day: string) => `
  'dev-' || lpad(i::text, 5, '0') AS target_id, 'team-' || lpad((i % 20)::text, 2, '0') AS team,
  ($MODELS::text[])[1 + ((i + k * 3 + ${day}) % 4)] AS model,
  'github.com/acme/repo-' || lpad(((i % 20) * 3 + ((k + ${day}) % 3))::text, 2, '0') AS repo`;

/** Seed targets, a year of rollups and the long thread. */
export async function seedYear(args: {
  pool: DbPool;
  developers: number;
  days: number;
  /** Average turns per developer, key and day; a key-day gets 10 x floor(...) or one more per hour. */
  turnsPerKeyDay: number;
  threadTurns: number;
  nowMs: number;
  /** Days per INSERT statement (each statement's trigger folds that many days). */
  chunkDays?: number;
  log?: (line: string) => void;
}): Promise<YearSeed> {
  const { pool, developers, days, nowMs } = args;
  const started = performance.now();
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const fromMs = today - (days - 1) * DAY_MS;
  const hourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  await pool.query(
    `INSERT INTO target (id, team, url)
     SELECT 'dev-' || lpad(i::text, 5, '0'), 'team-' || lpad((i % 20)::text, 2, '0'), 'ws://127.0.0.1:1/' || i
     FROM generate_series(1, $1::int) AS i ON CONFLICT (id) DO NOTHING`,
    [developers],
  );
  // Turns of a key-day: varies with developer and day so that no two groups are alike.
  const lo = Math.max(1, Math.floor(args.turnsPerKeyDay * 0.5));
  const span = Math.max(1, Math.round(args.turnsPerKeyDay)) * 2 - 2 * lo + 1;
  const dayTurns = `(${lo} + (i * 7 + d * 13 + k) % ${span})`;
  const chunk = args.chunkDays ?? 30;
  for (let d0 = 0; d0 < days - 1; d0 += chunk) {
    const d1 = Math.min(days - 1, d0 + chunk);
    const t0 = performance.now();
    await pool.query(
      `INSERT INTO usage_daily (day, target_id, team, model, repo, ${COLUMNS})
       SELECT day, target_id, team, model, repo, ${COUNTERS} FROM (
         SELECT to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC' + make_interval(days => d) AS day,
           ${KEY_SQL("d").replace("$MODELS", "$4")}, ${dayTurns}::bigint AS t
         FROM generate_series($2::int, $3::int - 1) AS d, generate_series(1, $5::int) AS i, generate_series(0, 1) AS k
       ) s ORDER BY day, target_id, team, model, repo`,
      [fromMs, d0, d1, MODELS, developers],
    );
    // What the collectors' usage fold (every few seconds) would have done by now: the grains hold
    // the past, the pending log only the last seconds.
    await foldUsage(pool);
    args.log?.(`seed-year: days ${d0}-${d1 - 1} in ${Math.round(performance.now() - t0)} ms (folded)`);
  }
  // Today: 10 working hours per developer (UTC 07-20, shifted per developer) up to the current hour.
  const d = days - 1;
  const { rowCount: hourlyRows } = await pool.query(
    `INSERT INTO usage_hourly (hour, target_id, team, model, repo, ${COLUMNS})
     SELECT hour, target_id, team, model, repo, ${COUNTERS} FROM (
       SELECT to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC' + make_interval(hours => 7 + (i % 5) + h) AS hour,
         ${KEY_SQL(String(d)).replace("$MODELS", "$3")}, (1 + (i + h + k) % ${Math.max(1, Math.round(args.turnsPerKeyDay / 5))})::bigint AS t
       FROM generate_series(1, $4::int) AS i, generate_series(0, 9) AS h, generate_series(0, 1) AS k
     ) s WHERE hour < to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'`,
    [today, hourMs, MODELS, developers],
  );
  await foldUsage(pool);
  const threadId = await seedLongThread(pool, args.threadTurns, nowMs);
  await pool.query("VACUUM ANALYZE");
  const { rows } = await pool.query<{ turns: number; rows: number }>(
    "SELECT COALESCE(sum(turns), 0)::float8 AS turns, count(*)::int AS rows FROM usage_daily",
  );
  return {
    dailyRows: Number(rows[0]?.rows ?? 0),
    hourlyRows: hourlyRows ?? 0,
    turns: Number(rows[0]?.turns ?? 0),
    fromMs,
    toMs: nowMs,
    threadId,
    ms: performance.now() - started,
  };
}

/** One thread of developer 1 with `n` ended turns a minute apart and a ledger row per turn. */
async function seedLongThread(pool: DbPool, n: number, nowMs: number): Promise<string> {
  const id = "year-long-thread";
  const startMs = nowMs - (n + 10) * 60_000;
  const at = "to_timestamp(($2 + g * 60000.0) / 1000.0) AT TIME ZONE 'UTC'";
  await pool.query(
    `INSERT INTO thread (id, target_id, repo, model, status, last_event_at, created_at, updated_at)
     VALUES ($1, 'dev-00001', 'github.com/acme/repo-03', 'gpt-5.5', 'idle',
       to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC', to_timestamp($3 / 1000.0) AT TIME ZONE 'UTC',
       to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC')`,
    [id, nowMs - 60_000, startMs],
  );
  await pool.query(
    `INSERT INTO turn (id, thread_id, target_id, model, status, started_at, completed_at, duration_ms, input_tokens,
        cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, price_version, end_counted)
     SELECT $1 || '-turn-' || lpad(g::text, 5, '0'), $1, 'dev-00001', 'gpt-5.5', 'completed', ${at},
        ${at} + interval '40 seconds', 40000, 21000, 16000, 450, 120, 21450, 0.061, 'v', true
     FROM generate_series(1, $3::int) g`,
    [id, startMs, n],
  );
  await pool.query(
    `INSERT INTO usage_event (thread_id, turn_id, target_id, team, model, repo, at, input_tokens, cached_input_tokens,
        output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, cumulative_total)
     SELECT $1, $1 || '-turn-' || lpad(g::text, 5, '0'), 'dev-00001', 'team-01', 'gpt-5.5', 'github.com/acme/repo-03',
        ${at} + interval '30 seconds', 21000, 16000, 450, 120, 21450, 0.061, 0, 'v', g * 21450
     FROM generate_series(1, $3::int) g`,
    [id, startMs, n],
  );
  return id;
}
