/**
 * The most threads active at once per hour (issue 15, activity_peak): sampled from the thread
 * table, for the fleet and per team, target, model and repo. Written with GREATEST, so any number
 * of instances may sample the same hour.
 */
import type { Pool } from "pg";

const HOUR_MS = 3_600_000;

/**
 * Count the threads active now (working or waiting: status 'active') per scope and raise the
 * hour's peaks to it. Only targets with an open connection count: a disconnected target's last
 * status is stale. Nothing active writes nothing (an absent peak reads as 0). Returns the number of
 * peak rows written.
 */
export async function sampleActivityPeak(args: { pool: Pool; atMs: number }): Promise<number> {
  const hourMs = Math.floor(args.atMs / HOUR_MS) * HOUR_MS;
  const { rowCount } = await args.pool.query(
    `WITH a AS (
       SELECT COALESCE(tg.team, '') AS team, th.target_id, COALESCE(th.model, 'unknown') AS model,
          COALESCE(th.repo, '') AS repo
       FROM thread th JOIN target tg ON tg.id = th.target_id
       WHERE th.status = 'active' AND tg.state = 'open'
     ), g AS (
       SELECT CASE WHEN GROUPING(team) = 0 THEN 'team' WHEN GROUPING(target_id) = 0 THEN 'target'
                   WHEN GROUPING(model) = 0 THEN 'model' WHEN GROUPING(repo) = 0 THEN 'repo' ELSE 'fleet' END AS scope,
          CASE WHEN GROUPING(team) = 0 THEN team WHEN GROUPING(target_id) = 0 THEN target_id
               WHEN GROUPING(model) = 0 THEN model WHEN GROUPING(repo) = 0 THEN repo ELSE '' END AS key,
          count(*)::int AS peak
       FROM a GROUP BY GROUPING SETS ((), (team), (target_id), (model), (repo))
       -- The empty grouping set yields a row (0) even without input: nothing active writes nothing.
       HAVING count(*) > 0
     )
     INSERT INTO activity_peak (hour, scope, key, peak)
     SELECT TIMESTAMP '1970-01-01' + $1::int8 * INTERVAL '1 millisecond', scope, key, peak
     FROM g ORDER BY scope, key
     ON CONFLICT (scope, hour, key) DO UPDATE SET peak = GREATEST(activity_peak.peak, EXCLUDED.peak)`,
    [hourMs],
  );
  return rowCount ?? 0;
}
