/**
 * The registry of running collector instances (issue 12): each registers at start and moves its
 * heartbeat with every lease renewal; `expires_at` (database clock) says whether it is live. An
 * orderly stop removes the row; a killed instance's row expires and is pruned a day later.
 */
import type { Pool } from "pg";

export interface InstanceIdentity {
  /** Unique per process. */
  id: string;
  /** Display name (`cluster.instanceName`); two instances may share one. */
  name: string;
  version: string;
  host: string;
  pid: number;
}

export interface InstanceRow extends InstanceIdentity {
  startedAtMs: number;
  heartbeatAtMs: number;
  expiresAtMs: number;
  /** expires_at > now() on the database clock. */
  live: boolean;
}

const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/** Register or refresh an instance: live for another `ttlMs` from the database's now. */
export async function heartbeatInstance(args: {
  pool: Pool;
  instance: InstanceIdentity;
  ttlMs: number;
}): Promise<void> {
  const { id, name, version, host, pid } = args.instance;
  await args.pool.query(
    `INSERT INTO collector_instance (id, name, version, host, pid, started_at, heartbeat_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, now(), now(), now() + ($6::float8 * interval '1 millisecond'))
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at`,
    [id, name, version, host, pid, args.ttlMs],
  );
}

/** Every registered instance (live or expired less than a day ago), oldest first. */
export async function listInstances(args: { pool: Pool }): Promise<InstanceRow[]> {
  const { rows } = await args.pool.query<InstanceRow>(
    `SELECT id, name, version, host, pid, ${ms("started_at")} AS "startedAtMs",
        ${ms("heartbeat_at")} AS "heartbeatAtMs", ${ms("expires_at")} AS "expiresAtMs", expires_at > now() AS live
     FROM collector_instance WHERE expires_at > now() - interval '1 day' ORDER BY started_at, id`,
  );
  return rows;
}

/** An orderly stop: the instance is gone (its leases are released separately, first). */
export async function removeInstance(args: { pool: Pool; id: string }): Promise<void> {
  await args.pool.query(`DELETE FROM collector_instance WHERE id = $1`, [args.id]);
}

/** Forget instances dead for more than a day. */
export async function pruneInstances(args: { pool: Pool }): Promise<number> {
  const { rowCount } = await args.pool.query(
    `DELETE FROM collector_instance WHERE expires_at < now() - interval '1 day'`,
  );
  return rowCount ?? 0;
}
