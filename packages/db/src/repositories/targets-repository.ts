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

/** A target's connection state as persisted (what /api/v1/targets shows after a restart). */
export interface TargetStateRow {
  id: string;
  state: TargetState;
  stateReason: TargetReason | null;
  stateSinceMs: number;
  lastError: string | null;
  userAgent: string | null;
  lastEventAtMs: number | null;
  lastContactAtMs: number | null;
  connectedSinceMs: number | null;
}

/**
 * Persist the connection state of many targets in one statement. Last event and last contact only
 * move forward (GREATEST); the user agent is kept when none is given.
 */
export async function updateTargetStates(args: {
  pool: Pool;
  rows: readonly TargetStateRow[];
}): Promise<void> {
  if (args.rows.length === 0) return;
  const at = (col: string) =>
    `CASE WHEN x."${col}" IS NULL THEN NULL ELSE to_timestamp(x."${col}" / 1000.0) AT TIME ZONE 'UTC' END`;
  await args.pool.query(
    `UPDATE target SET state = x.state, state_reason = x."stateReason",
        state_since = ${at("stateSinceMs")},
        last_error = x."lastError", user_agent = COALESCE(x."userAgent", target.user_agent),
        last_event_at = GREATEST(target.last_event_at, ${at("lastEventAtMs")}),
        last_contact_at = GREATEST(target.last_contact_at, ${at("lastContactAtMs")}),
        connected_since = ${at("connectedSinceMs")},
        updated_at = now()
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, state text, "stateReason" text, "stateSinceMs" float8,
        "lastError" text, "userAgent" text, "lastEventAtMs" float8, "lastContactAtMs" float8,
        "connectedSinceMs" float8)
     WHERE target.id = x.id`,
    [JSON.stringify(args.rows)],
  );
}

/** Persist one target's connection state. */
export async function updateTargetState(args: { pool: Pool } & TargetStateRow): Promise<void> {
  const { pool, ...row } = args;
  await updateTargetStates({ pool, rows: [row] });
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
