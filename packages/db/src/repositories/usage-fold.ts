/**
 * The fold of migration 20261207100000_usage_fold: moves the pending changes of usage_daily
 * (appended by its triggers in the ingest transactions) into the grains no ingest statement
 * writes — usage_daily_team and usage_span_target. One instance folds at a time (a
 * transaction-scoped advisory lock, taken or skipped in the same statement); a fold is one
 * statement, so readers see every change either pending or folded (queries/usage.ts adds the
 * pending rows), and a collector that stops mid-fold leaves nothing half done.
 */
import type { Queryable } from "./activity-fold.ts";

/** Fold what is pending now. Returns the pending rows moved, or null when another instance is folding. */
export async function foldUsage(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ moved: string | null }>(
    `SELECT CASE WHEN pg_try_advisory_xact_lock(hashtext('codex-fleet:usage-fold'))
       THEN usage_fold() END AS moved`,
  );
  const moved = rows[0]?.moved ?? null;
  return moved === null ? null : Number(moved);
}
