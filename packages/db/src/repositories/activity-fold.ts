/**
 * The fold of migration 20261206150000_activity_fold: moves the pending changes of
 * activity_daily_target (appended by its triggers in the ingest transactions) into the grains no
 * ingest statement writes — activity_daily_team and activity_span_target. One instance folds at a
 * time (a transaction-scoped advisory lock, taken or skipped in the same statement); a fold is one
 * statement, so readers see every change either pending or folded (queries/activity.ts adds the
 * pending rows), and a collector that stops mid-fold leaves nothing half done.
 */
import type { PoolClient } from "pg";

/** A connection or the pool itself. */
export type Queryable = Pick<PoolClient, "query">;

/** Fold what is pending now. Returns the pending rows moved, or null when another instance is folding. */
export async function foldActivity(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ moved: string | null }>(
    `SELECT CASE WHEN pg_try_advisory_xact_lock(hashtext('codex-fleet:activity-fold'))
       THEN activity_fold() END AS moved`,
  );
  const moved = rows[0]?.moved ?? null;
  return moved === null ? null : Number(moved);
}
