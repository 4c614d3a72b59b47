/**
 * Re-pricing history after a change of price overrides (issue 14, README "Prices"). At start the
 * collector compares the configured override set with the one last applied (`pricing_state`);
 * when it differs, `scheduleRepricing` records a job for the models and dates the change touches,
 * and `repriceBatch` works through their usage rows in id order, a small batch per transaction.
 *
 * Exactly once by construction: a batch reads its rows under row locks, prices each one again,
 * and one statement updates only the rows whose stored price still is the one read, applies the
 * difference (new − read) to the turn and the hourly rollup (whose trigger keeps the daily one),
 * and moves the job's cursor conditioned on where it was. A crash rolls the whole batch back; a
 * rerun prices a row already at the new price again and finds a difference of 0.
 */
import type { Pool, PoolClient } from "pg";
import type { Price, PriceFn } from "./ingest-types.ts";

/** The set of overrides last applied to history. */
export interface PricingState {
  fingerprint: string;
  overrides: unknown;
  appliedAtMs: number;
}

/** Which rows a change touches: those of `model` (matching rule: exact or without a date suffix) from `fromDate`. */
export interface PriceChange {
  model: string;
  /** `YYYY-MM-DD` (UTC). */
  fromDate: string;
}

/** A re-pricing job and its progress. */
export interface RepricingJob {
  id: number;
  status: "running" | "done" | "superseded";
  changes: PriceChange[];
  rowsTotal: number;
  rowsDone: number;
  rowsChanged: number;
  createdAtMs: number;
  finishedAtMs: number | null;
}

/** Held by the instance working through a job (session lock), and while scheduling one (transaction lock). */
const LOCK = "hashtext('codex-fleet:repricing')";
const SCHEDULE_LOCK = "hashtext('codex-fleet:repricing-schedule')";

/** The rows of the changed models from their dates, up to `last_id` (no cursor: $2 = 0). */
const AFFECTED = `
  e.id > $2 AND e.id <= $3 AND EXISTS (
    SELECT 1 FROM jsonb_to_recordset($1::jsonb) AS c(model text, "fromDate" date)
    WHERE e.at >= c."fromDate"
      AND (lower(btrim(e.model)) = c.model
           OR regexp_replace(lower(btrim(e.model)), '-[0-9]{4}-[0-9]{2}-[0-9]{2}$', '') = c.model))`;

interface JobRow {
  id: number;
  status: RepricingJob["status"];
  changes: PriceChange[];
  rows_total: string;
  rows_done: string;
  rows_changed: string;
  cursor_id: string;
  last_id: string;
  created_ms: number;
  finished_ms: number | null;
}

const JOB_COLUMNS = `id, status, changes, rows_total, rows_done, rows_changed, cursor_id, last_id,
  (extract(epoch from created_at) * 1000)::float8 AS created_ms,
  (extract(epoch from finished_at) * 1000)::float8 AS finished_ms`;

function toJob(r: JobRow): RepricingJob {
  return {
    id: r.id,
    status: r.status,
    changes: r.changes,
    rowsTotal: Number(r.rows_total),
    rowsDone: Number(r.rows_done),
    rowsChanged: Number(r.rows_changed),
    createdAtMs: Math.round(Number(r.created_ms)),
    finishedAtMs: r.finished_ms === null ? null : Math.round(Number(r.finished_ms)),
  };
}

/** Merge two change lists: per model, the earlier date. */
export function mergeChanges(a: readonly PriceChange[], b: readonly PriceChange[]): PriceChange[] {
  const byModel = new Map<string, string>();
  for (const c of [...a, ...b]) {
    const d = byModel.get(c.model);
    if (d === undefined || c.fromDate < d) byModel.set(c.model, c.fromDate);
  }
  return [...byModel]
    .map(([model, fromDate]) => ({ model, fromDate }))
    .sort((x, y) => x.model.localeCompare(y.model));
}

/**
 * At start: compare `fingerprint` with the applied one and, when it differs, record a job for
 * `diff(applied overrides)` (merged with a job still running, which it supersedes) and make this
 * set the applied one, in one transaction under a lock (collectors starting together schedule
 * once). The first start ever records the set and schedules nothing: the rows were priced with
 * it. Returns the new job, or null.
 */
export async function scheduleRepricing(args: {
  pool: Pool;
  fingerprint: string;
  overrides: unknown;
  diff: (appliedOverrides: unknown) => PriceChange[];
  nowMs: number;
}): Promise<RepricingJob | null> {
  const client = await args.pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock(${SCHEDULE_LOCK})`);
    const { rows: state } = await client.query<{ fingerprint: string; overrides: unknown }>(
      "SELECT fingerprint, overrides FROM pricing_state WHERE id = 1",
    );
    const at = new Date(args.nowMs).toISOString();
    const saveState = () =>
      client.query(
        `INSERT INTO pricing_state (id, fingerprint, overrides, applied_at) VALUES (1, $1, $2::jsonb, $3::timestamptz AT TIME ZONE 'UTC')
         ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, overrides = EXCLUDED.overrides,
           applied_at = EXCLUDED.applied_at`,
        [args.fingerprint, JSON.stringify(args.overrides), at],
      );
    const applied = state[0];
    if (applied === undefined || applied.fingerprint === args.fingerprint) {
      if (applied === undefined) await saveState();
      await client.query("COMMIT");
      return null;
    }
    const { rows: running } = await client.query<{ id: number; changes: PriceChange[] }>(
      "SELECT id, changes FROM repricing_job WHERE status = 'running' ORDER BY id",
    );
    const changes = mergeChanges(
      running.flatMap((r) => r.changes),
      args.diff(applied.overrides),
    );
    await saveState();
    if (running.length > 0)
      await client.query(
        `UPDATE repricing_job SET status = 'superseded', finished_at = $2::timestamptz AT TIME ZONE 'UTC'
         WHERE id = ANY($1::int[])`,
        [running.map((r) => r.id), at],
      );
    if (changes.length === 0) {
      await client.query("COMMIT");
      return null;
    }
    const { rows: last } = await client.query<{ last_id: string }>(
      "SELECT COALESCE(max(id), 0)::text AS last_id FROM usage_event",
    );
    const lastId = last[0]?.last_id ?? "0";
    const { rows: count } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM usage_event e WHERE ${AFFECTED}`,
      [JSON.stringify(changes), 0, lastId],
    );
    const { rows } = await client.query<JobRow>(
      `INSERT INTO repricing_job (fingerprint, changes, rows_total, last_id, created_at)
       VALUES ($1, $2::jsonb, $3, $4, $5::timestamptz AT TIME ZONE 'UTC') RETURNING ${JOB_COLUMNS}`,
      [args.fingerprint, JSON.stringify(changes), count[0]?.n ?? "0", lastId, at],
    );
    await client.query("COMMIT");
    const job = rows[0];
    return job ? toJob(job) : null;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** The newest job (running or not), or null when history was never re-priced. */
export async function readLatestRepricing(pool: Pool): Promise<RepricingJob | null> {
  const { rows } = await pool.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM repricing_job ORDER BY id DESC LIMIT 1`,
  );
  const row = rows[0];
  return row ? toJob(row) : null;
}

/** The override set last applied (null before the first start with this feature). */
export async function readPricingState(pool: Pool): Promise<PricingState | null> {
  const { rows } = await pool.query<{ fingerprint: string; overrides: unknown; applied_ms: number }>(
    `SELECT fingerprint, overrides, (extract(epoch from applied_at) * 1000)::float8 AS applied_ms
     FROM pricing_state WHERE id = 1`,
  );
  const r = rows[0];
  return r
    ? { fingerprint: r.fingerprint, overrides: r.overrides, appliedAtMs: Math.round(Number(r.applied_ms)) }
    : null;
}

interface UsageRow {
  id: string;
  turn_id: string | null;
  target_id: string;
  team: string;
  model: string;
  repo: string;
  hour_ms: number;
  at_ms: number;
  input: string;
  cached: string;
  cache_write: string;
  output: string;
  reasoning: string;
  total: string;
  request_input: string | null;
  cost: string;
  unpriced: string;
  price_version: string;
}

/** The suffix pricing appends for a delta of several responses (pricing MERGED_SUFFIX). */
const MERGED_SUFFIX = "+merged";

/** A usage row priced again, from what is stored on it (pure). */
export function repriceRow(r: UsageRow, price: PriceFn): Price {
  const input = Number(r.input);
  return price(
    r.model,
    Math.round(Number(r.at_ms)),
    {
      inputTokens: input,
      cachedInputTokens: Number(r.cached),
      cacheWriteInputTokens: Number(r.cache_write),
      outputTokens: Number(r.output),
      reasoningOutputTokens: Number(r.reasoning),
      totalTokens: Number(r.total),
    },
    {
      requestInputTokens: r.request_input === null ? input : Number(r.request_input),
      merged: r.price_version.endsWith(MERGED_SUFFIX),
    },
  );
}

/**
 * One batch of the running job `jobId`, in one transaction: up to `limit` affected rows after the
 * cursor. Returns rows processed and changed, and whether the job is finished; null when the job
 * is not running (superseded, done) or another runner moved its cursor first.
 */
export async function repriceBatch(args: {
  pool: Pool;
  jobId: number;
  price: PriceFn;
  limit: number;
  nowMs: number;
}): Promise<{ done: number; changed: number; finished: boolean } | null> {
  const client = await args.pool.connect();
  try {
    await client.query("BEGIN");
    const result = await batchIn(client, args);
    await client.query(result === null ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function batchIn(
  client: PoolClient,
  args: { jobId: number; price: PriceFn; limit: number; nowMs: number },
): Promise<{ done: number; changed: number; finished: boolean } | null> {
  const { rows: jobs } = await client.query<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM repricing_job WHERE id = $1 AND status = 'running' FOR UPDATE`,
    [args.jobId],
  );
  const job = jobs[0];
  if (!job) return null;
  const { rows } = await client.query<UsageRow>(
    `SELECT e.id::text, e.turn_id, e.target_id, e.team, e.model, e.repo,
            (extract(epoch from date_trunc('hour', e.at)) * 1000)::float8 AS hour_ms,
            (extract(epoch from e.at) * 1000)::float8 AS at_ms,
            e.input_tokens::text AS input, e.cached_input_tokens::text AS cached,
            e.cache_write_input_tokens::text AS cache_write, e.output_tokens::text AS output,
            e.reasoning_output_tokens::text AS reasoning, e.total_tokens::text AS total,
            e.request_input_tokens::text AS request_input, e.cost_usd::text AS cost,
            e.unpriced_tokens::text AS unpriced, e.price_version
     FROM usage_event e WHERE ${AFFECTED} ORDER BY e.id LIMIT $4 FOR UPDATE`,
    [JSON.stringify(job.changes), job.cursor_id, job.last_id, args.limit],
  );
  const at = new Date(args.nowMs).toISOString();
  if (rows.length === 0) {
    await client.query(
      `UPDATE repricing_job SET status = 'done', finished_at = $2::timestamptz AT TIME ZONE 'UTC' WHERE id = $1`,
      [args.jobId, at],
    );
    return { done: 0, changed: 0, finished: true };
  }
  const priced = rows.map((r) => {
    const p = repriceRow(r, args.price);
    return {
      id: r.id,
      cost: p.costUsd ?? 0,
      unpriced: p.unpricedTokens,
      priceVersion: p.priceVersion,
      oldCost: r.cost,
      oldUnpriced: r.unpriced,
      oldVersion: r.price_version,
    };
  });
  // Lock the turns and hourly rows in the order ingest locks them (usage-accounting.ts), so that
  // a batch and an ingest transaction never wait on each other in a cycle.
  const turnIds = [...new Set(rows.flatMap((r) => (r.turn_id === null ? [] : [r.turn_id])))].sort();
  if (turnIds.length > 0)
    await client.query("SELECT 1 FROM turn WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [turnIds]);
  await client.query(
    `SELECT 1 FROM usage_hourly h
     JOIN (SELECT DISTINCT * FROM jsonb_to_recordset($1::jsonb) AS k(hour float8, target text, team text, model text, repo text)) k
       ON h.hour = to_timestamp(k.hour / 1000.0) AT TIME ZONE 'UTC' AND h.target_id = k.target AND h.team = k.team
          AND h.model = k.model AND h.repo = k.repo
     ORDER BY h.target_id, h.team, h.model, h.repo, h.hour FOR UPDATE OF h`,
    [
      JSON.stringify(
        rows.map((r) => ({
          hour: r.hour_ms,
          target: r.target_id,
          team: r.team,
          model: r.model,
          repo: r.repo,
        })),
      ),
    ],
  );
  const lastId = rows[rows.length - 1]?.id ?? job.cursor_id;
  const { rows: out } = await client.query<{ changed: number; moved: number }>(APPLY, [
    JSON.stringify(priced),
    args.jobId,
    lastId,
    rows.length,
    job.cursor_id,
  ]);
  if (Number(out[0]?.moved) !== 1) return null;
  const changed = Number(out[0]?.changed ?? 0);
  return { done: rows.length, changed, finished: false };
}

/**
 * $1: [{id, cost, unpriced, priceVersion, oldCost, oldUnpriced, oldVersion}]; $2 job id; $3 the
 * new cursor; $4 rows processed; $5 the cursor read. A row is updated only when its stored price
 * is still the one read and the new one differs; the differences go to its turn and its hour.
 */
const APPLY = `
WITH x AS (
  SELECT id, cost::numeric(20, 10) AS cost, unpriced, "priceVersion", "oldCost", "oldUnpriced", "oldVersion"
  FROM jsonb_to_recordset($1::jsonb) AS x(id int8, cost numeric, unpriced int8, "priceVersion" text,
    "oldCost" numeric, "oldUnpriced" int8, "oldVersion" text)
), u AS (
  UPDATE usage_event e SET cost_usd = x.cost, unpriced_tokens = x.unpriced, price_version = x."priceVersion"
  FROM x
  WHERE e.id = x.id AND e.cost_usd = x."oldCost" AND e.unpriced_tokens = x."oldUnpriced"
    AND e.price_version = x."oldVersion"
    AND (x.cost, x.unpriced, x."priceVersion") IS DISTINCT FROM (x."oldCost", x."oldUnpriced", x."oldVersion")
  RETURNING e.id, e.turn_id, e.target_id, e.team, e.model, e.repo, date_trunc('hour', e.at) AS hour,
    x.cost - x."oldCost" AS dcost, x.unpriced - x."oldUnpriced" AS dunpriced, x."priceVersion" AS version
), t AS (
  UPDATE turn SET cost_usd = turn.cost_usd + d.dcost, unpriced_tokens = turn.unpriced_tokens + d.dunpriced,
    price_version = d.version
  FROM (SELECT turn_id, sum(dcost) AS dcost, sum(dunpriced) AS dunpriced, (array_agg(version ORDER BY id DESC))[1] AS version
        FROM u WHERE turn_id IS NOT NULL GROUP BY turn_id) d
  WHERE turn.id = d.turn_id
), h AS (
  UPDATE usage_hourly SET cost_usd = usage_hourly.cost_usd + d.dcost,
    unpriced_tokens = usage_hourly.unpriced_tokens + d.dunpriced
  FROM (SELECT hour, target_id, team, model, repo, sum(dcost) AS dcost, sum(dunpriced) AS dunpriced
        FROM u GROUP BY 1, 2, 3, 4, 5) d
  WHERE usage_hourly.hour = d.hour AND usage_hourly.target_id = d.target_id AND usage_hourly.team = d.team
    AND usage_hourly.model = d.model AND usage_hourly.repo = d.repo
), j AS (
  UPDATE repricing_job SET cursor_id = $3, rows_done = rows_done + $4,
    rows_changed = rows_changed + (SELECT count(*) FROM u)
  WHERE id = $2 AND cursor_id = $5 AND status = 'running'
  RETURNING 1
)
SELECT (SELECT count(*) FROM u)::int AS changed, (SELECT count(*) FROM j)::int AS moved`;

/** Models with unpriced tokens, most tokens first (from the hourly rollup, which outlives the rows). */
export async function listUnpricedModels(
  pool: Pool,
  limit = 50,
): Promise<{ model: string; unpricedTokens: number; lastSeenAtMs: number }[]> {
  const { rows } = await pool.query<{ model: string; tokens: string; last_ms: number }>(
    `SELECT model, sum(unpriced_tokens)::text AS tokens, (extract(epoch from max(hour)) * 1000)::float8 AS last_ms
     FROM usage_hourly WHERE unpriced_tokens > 0 GROUP BY model ORDER BY sum(unpriced_tokens) DESC, model LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    model: r.model,
    unpricedTokens: Number(r.tokens),
    lastSeenAtMs: Math.round(Number(r.last_ms)),
  }));
}

/**
 * Run `fn` while holding the cluster-wide re-pricing lock (a session advisory lock on its own
 * connection): one instance re-prices at a time. Null without running when another holds it.
 * `alone` (embedded PGlite: one instance, one connection): no lock.
 */
export async function withRepricingLock<T>(
  pool: Pool,
  fn: () => Promise<T>,
  options: { alone?: boolean } = {},
): Promise<T | null> {
  if (options.alone) return fn();
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK}) AS ok`);
    if (!rows[0]?.ok) return null;
    try {
      return await fn();
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK})`).catch(() => {});
    }
  } finally {
    client.release();
  }
}
