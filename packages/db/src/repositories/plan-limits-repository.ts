/**
 * Plan limits (issue 14, migration 20261206130000_plan_limits): the merged state of each limit of
 * each target (protocol `PlanLimitState`, merged in memory by `mergePlanLimit`) and the samples of
 * each window's use. Any instance reads them: the API, the alerts and the budgets read the table,
 * not an instance's memory.
 */
import type { PlanLimitState, PlanSample } from "@codex-fleet/protocol/limits";
import type { Pool, PoolClient } from "pg";

/** A connection or the pool itself. */
type Queryable = Pick<PoolClient, "query"> | Pool;

export type PlanWindowName = "primary" | "secondary";

/** One sample to store. */
export interface PlanSampleRow extends PlanSample {
  limitId: string;
  window: PlanWindowName;
}

/** `timestamp without time zone` (UTC) from epoch ms, as every table here stores time. */
const ts = (ms: number): string => new Date(ms).toISOString().replace("Z", "");
const TS_MS = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/**
 * Store a limit's merged state (replacing the last one, unless the stored one is newer: two
 * instances during a handover never move it back) and any new samples (a sample already stored for
 * the same instant is kept).
 */
export async function savePlanLimit(args: {
  pool: Queryable;
  targetId: string;
  state: PlanLimitState;
  samples?: readonly PlanSampleRow[];
}): Promise<void> {
  const { pool, targetId, state } = args;
  // Samples first: a reader that sees the state (planLimitsVersion) sees its samples too.
  const samples = args.samples ?? [];
  if (samples.length > 0)
    await pool.query(
      `INSERT INTO plan_limit_sample (target_id, limit_id, "window", at, used_percent, resets_at)
       SELECT $1, s."limitId", s."window", to_timestamp(s."atMs" / 1000.0) AT TIME ZONE 'UTC', s."usedPercent",
          CASE WHEN s."resetsAtMs" IS NULL THEN NULL ELSE to_timestamp(s."resetsAtMs" / 1000.0) AT TIME ZONE 'UTC' END
       FROM jsonb_to_recordset($2::jsonb) AS s("limitId" text, "window" text, "atMs" float8, "usedPercent" float8,
          "resetsAtMs" float8)
       ON CONFLICT DO NOTHING`,
      [targetId, JSON.stringify(samples)],
    );
  await pool.query(
    `INSERT INTO plan_limit (target_id, limit_id, state, observed_at) VALUES ($1, $2, $3::jsonb, $4)
     ON CONFLICT (target_id, limit_id) DO UPDATE SET state = EXCLUDED.state, observed_at = EXCLUDED.observed_at
     WHERE plan_limit.observed_at <= EXCLUDED.observed_at`,
    [targetId, state.limitId, JSON.stringify(state), ts(state.observedAtMs)],
  );
}

/**
 * `savePlanLimit` for many limits at once (one statement for the states, one for the samples):
 * what a collector that opens thousands of targets together writes, in a few round trips instead
 * of two per target. Same conditions; of two states of one limit in `entries`, the newer is kept.
 */
export async function savePlanLimits(args: {
  pool: Queryable;
  entries: readonly { targetId: string; state: PlanLimitState; samples?: readonly PlanSampleRow[] }[];
}): Promise<void> {
  if (args.entries.length === 0) return;
  // Samples first, as in savePlanLimit.
  const samples = args.entries.flatMap((e) => (e.samples ?? []).map((s) => ({ ...s, targetId: e.targetId })));
  if (samples.length > 0)
    await args.pool.query(
      `INSERT INTO plan_limit_sample (target_id, limit_id, "window", at, used_percent, resets_at)
       SELECT s."targetId", s."limitId", s."window", to_timestamp(s."atMs" / 1000.0) AT TIME ZONE 'UTC', s."usedPercent",
          CASE WHEN s."resetsAtMs" IS NULL THEN NULL ELSE to_timestamp(s."resetsAtMs" / 1000.0) AT TIME ZONE 'UTC' END
       FROM jsonb_to_recordset($1::jsonb) AS s("targetId" text, "limitId" text, "window" text, "atMs" float8,
          "usedPercent" float8, "resetsAtMs" float8)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(samples)],
    );
  await args.pool.query(
    `INSERT INTO plan_limit (target_id, limit_id, state, observed_at)
     SELECT DISTINCT ON (e.t, e.s->>'limitId') e.t, e.s->>'limitId', e.s, e.at::timestamp
     FROM jsonb_to_recordset($1::jsonb) AS e(t text, s jsonb, at text)
     ORDER BY e.t, e.s->>'limitId', e.at::timestamp DESC
     ON CONFLICT (target_id, limit_id) DO UPDATE SET state = EXCLUDED.state, observed_at = EXCLUDED.observed_at
     WHERE plan_limit.observed_at <= EXCLUDED.observed_at`,
    [JSON.stringify(args.entries.map((e) => ({ t: e.targetId, s: e.state, at: ts(e.state.observedAtMs) })))],
  );
}

/**
 * The stored state of every limit of the matching targets (with the target's team): `target` one,
 * `targetIds` any of several (the collector loads the targets that open together in one query).
 */
export async function listPlanLimits(args: {
  pool: Queryable;
  team?: string;
  target?: string;
  targetIds?: readonly string[];
}): Promise<{ target: string; team: string; state: PlanLimitState }[]> {
  const { rows } = await args.pool.query<{ target: string; team: string; state: PlanLimitState }>(
    `SELECT p.target_id AS target, COALESCE(t.team, '') AS team, p.state
     FROM plan_limit p LEFT JOIN target t ON t.id = p.target_id
     WHERE ($1::text IS NULL OR COALESCE(t.team, '') = $1) AND ($2::text IS NULL OR p.target_id = $2)
       AND ($3::text[] IS NULL OR p.target_id = ANY($3))
     ORDER BY p.target_id, p.limit_id`,
    [args.team ?? null, args.target ?? null, args.targetIds ?? null],
  );
  return rows;
}

/**
 * A value that changes whenever any plan-limit state row is written, inserted or deleted (by any
 * instance): the row count and a sum over each row version's `xmin` — a write that the
 * `observed_at` condition refuses leaves the row, and this value, as it was. Readers that re-read
 * every state every few seconds (the alert engine) read this first and skip the read when nothing
 * was written: one row instead of the whole fleet's.
 */
export async function planLimitsVersion(args: { pool: Queryable }): Promise<string> {
  const { rows } = await args.pool.query<{ v: string }>(
    `SELECT count(*)::text || ':' || COALESCE(sum(hashtext(xmin::text)::bigint), 0)::text AS v FROM plan_limit`,
  );
  return rows[0]?.v ?? "";
}

/** Samples of the matching windows in [fromMs, toMs], oldest first. */
export async function listPlanSamples(args: {
  pool: Queryable;
  fromMs: number;
  toMs: number;
  targetIds?: readonly string[];
  limitId?: string;
  window?: PlanWindowName;
}): Promise<{ target: string; limitId: string; window: PlanWindowName; sample: PlanSample }[]> {
  const { rows } = await args.pool.query<{
    target: string;
    limitId: string;
    window: PlanWindowName;
    atMs: number;
    usedPercent: number;
    resetsAtMs: number | null;
  }>(
    `SELECT target_id AS target, limit_id AS "limitId", "window", ${TS_MS("at")} AS "atMs",
        used_percent AS "usedPercent", ${TS_MS("resets_at")} AS "resetsAtMs"
     FROM plan_limit_sample
     WHERE at >= $1 AND at <= $2 AND ($3::text[] IS NULL OR target_id = ANY($3))
       AND ($4::text IS NULL OR limit_id = $4) AND ($5::text IS NULL OR "window" = $5)
     ORDER BY target_id, limit_id, "window", at`,
    [ts(args.fromMs), ts(args.toMs), args.targetIds ?? null, args.limitId ?? null, args.window ?? null],
  );
  return rows.map((r) => ({
    target: r.target,
    limitId: r.limitId,
    window: r.window,
    sample: { atMs: r.atMs, usedPercent: r.usedPercent, resetsAtMs: r.resetsAtMs },
  }));
}

/** Whether a target's app-server can report plan limits. */
export type PlanLimitSourceStatus = "ok" | "unavailable" | "error";

/** Record the outcome of the last `account/rateLimits/read` of a target. */
export async function savePlanLimitSource(args: {
  pool: Queryable;
  targetId: string;
  status: PlanLimitSourceStatus;
  reason: string | null;
  atMs: number;
}): Promise<void> {
  await args.pool.query(
    `INSERT INTO plan_limit_source (target_id, status, reason, checked_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (target_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
        checked_at = EXCLUDED.checked_at
     WHERE plan_limit_source.checked_at <= EXCLUDED.checked_at`,
    [args.targetId, args.status, args.reason, ts(args.atMs)],
  );
}

/**
 * `savePlanLimitSource` for many targets at once (one statement); of two outcomes of one target in
 * `entries`, the later is kept.
 */
export async function savePlanLimitSources(args: {
  pool: Queryable;
  entries: readonly {
    targetId: string;
    status: PlanLimitSourceStatus;
    reason: string | null;
    atMs: number;
  }[];
}): Promise<void> {
  if (args.entries.length === 0) return;
  await args.pool.query(
    `INSERT INTO plan_limit_source (target_id, status, reason, checked_at)
     SELECT DISTINCT ON (e.t) e.t, e.status, e.reason, e.at::timestamp
     FROM jsonb_to_recordset($1::jsonb) AS e(t text, status text, reason text, at text)
     ORDER BY e.t, e.at::timestamp DESC
     ON CONFLICT (target_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,
        checked_at = EXCLUDED.checked_at
     WHERE plan_limit_source.checked_at <= EXCLUDED.checked_at`,
    [
      JSON.stringify(
        args.entries.map((e) => ({ t: e.targetId, status: e.status, reason: e.reason, at: ts(e.atMs) })),
      ),
    ],
  );
}

/** The last read outcome of the matching targets (with the target's team). */
export async function listPlanLimitSources(args: {
  pool: Queryable;
  team?: string;
  target?: string;
}): Promise<
  {
    target: string;
    team: string;
    status: PlanLimitSourceStatus;
    reason: string | null;
    checkedAtMs: number;
  }[]
> {
  const { rows } = await args.pool.query(
    `SELECT s.target_id AS target, COALESCE(t.team, '') AS team, s.status, s.reason,
        ${TS_MS("s.checked_at")} AS "checkedAtMs"
     FROM plan_limit_source s LEFT JOIN target t ON t.id = s.target_id
     WHERE ($1::text IS NULL OR COALESCE(t.team, '') = $1) AND ($2::text IS NULL OR s.target_id = $2)
     ORDER BY s.target_id`,
    [args.team ?? null, args.target ?? null],
  );
  return rows;
}
