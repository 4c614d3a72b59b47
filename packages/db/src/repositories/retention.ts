/**
 * Retention (issue 13): what is deleted after how long, in batches small enough never to hold up
 * the ingest path (each batch its own short statement on rows nothing writes any more).
 *
 * Detail (`detailDays`): the accounting ledger `usage_event` (by `at`) and ended turns (by
 * `started_at`, BRIN index), plan-window samples `plan_limit_sample` (by `at`). Hourly rollups (`hourlyDays`): `usage_hourly`, `activity_hourly`,
 * `activity_peak` (by `hour`). Kept: the daily rollups (their triggers ignore deletes), threads
 * and their counted baselines — accounting never reads the ledger back, so pruning it cannot
 * make anything count twice. The audit log (`audit_event`, by `at`) after `audit.retentionDays`.
 */
import type { Pool, PoolClient } from "pg";

/** One table's pruning rule: which rows are older than the cutoff, found through an index. */
export interface PruneRule {
  table: string;
  /** Which retention setting applies. */
  keep: "detail" | "hourly" | "audit";
  /** SQL predicate on the table's rows with `$1` the cutoff (timestamp without time zone, UTC). */
  older: string;
}

/** Every pruned table, in the order a run visits them. */
export const PRUNE_RULES: readonly PruneRule[] = [
  { table: "usage_event", keep: "detail", older: "at < $1" },
  // An in-progress turn is kept whatever its age (it may still count tokens).
  { table: "turn", keep: "detail", older: "started_at < $1 AND status <> 'inProgress'" },
  { table: "plan_limit_sample", keep: "detail", older: "at < $1" },
  { table: "usage_hourly", keep: "hourly", older: "hour < $1" },
  { table: "activity_hourly", keep: "hourly", older: "hour < $1" },
  // activity_peak's key starts with scope: one range per scope keeps the index usable.
  {
    table: "activity_peak",
    keep: "hourly",
    older: "scope IN ('fleet', 'team', 'target', 'model', 'repo') AND hour < $1",
  },
  // The audit log (issue 17): `audit.retentionDays`.
  { table: "audit_event", keep: "audit", older: "at < $1" },
];

/** A connection or the pool itself. */
export type Queryable = Pick<PoolClient, "query">;

/** Delete at most `limit` rows of `rule.table` older than `cutoffMs`; returns how many. */
export async function pruneBatch(args: {
  client: Queryable;
  rule: PruneRule;
  cutoffMs: number;
  limit: number;
}): Promise<number> {
  const { client, rule, cutoffMs, limit } = args;
  const res = await client.query(
    `DELETE FROM ${rule.table} WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM ${rule.table} WHERE ${rule.older} LIMIT $2))`,
    [new Date(cutoffMs).toISOString().replace("Z", ""), limit],
  );
  return res.rowCount ?? 0;
}

/**
 * Run `fn` on one connection while it holds the cluster-wide retention lock (a session advisory
 * lock): one instance prunes at a time. `fn` gets that connection (embedded PGlite has only one).
 * Returns null without running when another holds the lock. `alone` (embedded PGlite: the only
 * instance, one connection): no lock, and `fn` gets the pool, so that each statement takes the
 * connection only for itself and ingest goes on between batches.
 */
export async function withRetentionLock<T>(
  pool: Pool,
  fn: (client: Queryable) => Promise<T>,
  options: { alone?: boolean } = {},
): Promise<T | null> {
  if (options.alone) return fn(pool);
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_lock(hashtext('codex-fleet:retention')) AS ok",
    );
    if (!rows[0]?.ok) return null;
    try {
      return await fn(client);
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext('codex-fleet:retention'))").catch(() => {});
    }
  } finally {
    client.release();
  }
}
