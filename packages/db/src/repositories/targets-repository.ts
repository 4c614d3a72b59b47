/** Target rows: written from the config at start and on every connection state change. */
import type { TargetReason, TargetState } from "@codex-fleet/protocol/status";
import type { Pool } from "pg";

export interface TargetRow {
  id: string;
  team: string;
  url: string;
  labels: Record<string, string>;
  state: TargetState;
  stateReason: TargetReason | null;
  stateSinceMs: number;
  lastError: string | null;
  userAgent: string | null;
  lastEventAtMs: number | null;
  lastContactAtMs: number | null;
  connectedSinceMs: number | null;
}

/** Insert or update the configured targets; targets no longer configured are marked disabled. */
export async function syncTargets(args: {
  pool: Pool;
  targets: { id: string; team: string; url: string; labels: Record<string, string> }[];
}): Promise<void> {
  const { pool, targets } = args;
  await pool.query(
    `INSERT INTO target (id, team, url, labels, enabled, updated_at)
     SELECT x.id, x.team, x.url, x.labels, true, now() FROM jsonb_to_recordset($1::jsonb)
        AS x(id text, team text, url text, labels jsonb)
     ON CONFLICT (id) DO UPDATE SET team = EXCLUDED.team, url = EXCLUDED.url, labels = EXCLUDED.labels,
        enabled = true, updated_at = now()`,
    [JSON.stringify(targets)],
  );
  await pool.query(`UPDATE target SET enabled = false, state = 'stopped' WHERE NOT (id = ANY($1::text[]))`, [
    targets.map((t) => t.id),
  ]);
}

/** Persist a target's connection state (what /api/v1/targets shows after a restart). */
export async function updateTargetState(args: {
  pool: Pool;
  id: string;
  state: TargetState;
  stateReason: TargetReason | null;
  stateSinceMs: number;
  lastError: string | null;
  userAgent: string | null;
  lastEventAtMs: number | null;
  lastContactAtMs: number | null;
  connectedSinceMs: number | null;
}): Promise<void> {
  const a = args;
  await a.pool.query(
    `UPDATE target SET state = $2, state_reason = $3, state_since = to_timestamp($4 / 1000.0) AT TIME ZONE 'UTC',
        last_error = $5, user_agent = COALESCE($6, user_agent),
        last_event_at = GREATEST(last_event_at, CASE WHEN $7::float8 IS NULL THEN NULL ELSE to_timestamp($7 / 1000.0) AT TIME ZONE 'UTC' END),
        last_contact_at = GREATEST(last_contact_at, CASE WHEN $8::float8 IS NULL THEN NULL ELSE to_timestamp($8 / 1000.0) AT TIME ZONE 'UTC' END),
        connected_since = CASE WHEN $9::float8 IS NULL THEN NULL ELSE to_timestamp($9 / 1000.0) AT TIME ZONE 'UTC' END,
        updated_at = now()
     WHERE id = $1`,
    [
      a.id,
      a.state,
      a.stateReason,
      a.stateSinceMs,
      a.lastError,
      a.userAgent,
      a.lastEventAtMs,
      a.lastContactAtMs,
      a.connectedSinceMs,
    ],
  );
}

const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/** Every enabled target as stored. */
export async function listTargetRows(args: { pool: Pool }): Promise<TargetRow[]> {
  const { rows } = await args.pool.query<TargetRow>(
    `SELECT id, team, url, labels, state, state_reason AS "stateReason", ${ms("state_since")} AS "stateSinceMs",
        last_error AS "lastError", user_agent AS "userAgent", ${ms("last_event_at")} AS "lastEventAtMs",
        ${ms("last_contact_at")} AS "lastContactAtMs", ${ms("connected_since")} AS "connectedSinceMs"
     FROM target WHERE enabled ORDER BY id`,
  );
  return rows;
}
