/**
 * Targets added through the admin API (`target.managed`): their definition and their token's
 * ciphertext. Connection state is written by targets-repository like for config targets.
 */
import type { Pool } from "pg";

/** A managed target's stored definition. The token is ciphertext only (the collector encrypts). */
export interface ManagedTargetRow {
  id: string;
  team: string;
  url: string;
  labels: Record<string, string>;
  allowInsecure: boolean;
  tokenCiphertext: string | null;
  /** Token source instead of a stored token (server.targetSecrets): a file path or a variable name. */
  tokenFile: string | null;
  tokenEnv: string | null;
  lastContactAtMs: number | null;
  /** Paused through the admin API: kept, followed by no collector. */
  paused: boolean;
  pausedAtMs: number | null;
}

/** Every managed target, paused or not (a restart follows all but the paused ones again). */
export async function listManagedTargets(args: { pool: Pool }): Promise<ManagedTargetRow[]> {
  const { rows } = await args.pool.query<ManagedTargetRow>(
    `SELECT id, team, url, labels, allow_insecure AS "allowInsecure", token_ciphertext AS "tokenCiphertext",
        token_file AS "tokenFile", token_env AS "tokenEnv",
        (extract(epoch from last_contact_at) * 1000)::float8 AS "lastContactAtMs",
        paused, (extract(epoch from paused_at) * 1000)::float8 AS "pausedAtMs"
     FROM target WHERE managed ORDER BY id`,
  );
  return rows;
}

/**
 * Insert or replace a managed target's definition and enable it. A disabled row of the same name
 * (a target once in the config file) is taken over, keeping its threads and history; the caller
 * refuses names of targets that are currently followed from the config file. A managed target
 * keeps its pause (a paused definition can be edited); a row taken over starts unpaused.
 */
export async function upsertManagedTarget(args: {
  pool: Pool;
  target: Omit<ManagedTargetRow, "lastContactAtMs" | "paused" | "pausedAtMs">;
}): Promise<void> {
  const t = args.target;
  await args.pool.query(
    `INSERT INTO target (id, team, url, labels, allow_insecure, token_ciphertext, token_file, token_env,
        managed, enabled, state, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, true, true, 'connecting', now())
     ON CONFLICT (id) DO UPDATE SET team = EXCLUDED.team, url = EXCLUDED.url, labels = EXCLUDED.labels,
        allow_insecure = EXCLUDED.allow_insecure, token_ciphertext = EXCLUDED.token_ciphertext,
        token_file = EXCLUDED.token_file, token_env = EXCLUDED.token_env,
        paused = target.managed AND target.paused,
        paused_at = CASE WHEN target.managed AND target.paused THEN target.paused_at END,
        enabled = NOT (target.managed AND target.paused), managed = true, updated_at = now()`,
    [
      t.id,
      t.team,
      t.url,
      JSON.stringify(t.labels),
      t.allowInsecure,
      t.tokenCiphertext,
      t.tokenFile,
      t.tokenEnv,
    ],
  );
}

/**
 * Pause or resume a managed target. Paused: disabled and stopped (no collector follows it, its
 * rows stay); resumed: enabled, connecting. Returns false when `id` is not a managed target.
 */
export async function setManagedTargetPaused(args: {
  pool: Pool;
  id: string;
  paused: boolean;
}): Promise<boolean> {
  const { rowCount } = await args.pool.query(
    `UPDATE target SET paused = $2, paused_at = CASE WHEN $2 THEN COALESCE(paused_at, now()) END,
        enabled = NOT $2, state = CASE WHEN $2 THEN 'stopped' ELSE 'connecting' END,
        state_since = CASE WHEN paused = $2 THEN state_since ELSE now() END, updated_at = now()
     WHERE managed AND id = $1`,
    [args.id, args.paused],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Stop managing targets: the rows stay (threads reference them) as disabled, stopped, unmanaged
 * targets, and the token ciphertext is erased. Returns the ids that were managed.
 */
export async function releaseManagedTargets(args: {
  pool: Pool;
  ids: string[];
  /** False when the config file now defines the same names: they stay enabled, as config targets. */
  disable: boolean;
}): Promise<string[]> {
  const { rows } = await args.pool.query<{ id: string }>(
    `UPDATE target SET managed = false, token_ciphertext = NULL, token_file = NULL, token_env = NULL,
        allow_insecure = false, paused = false, paused_at = NULL,
        enabled = CASE WHEN $2 THEN false ELSE enabled END,
        state = CASE WHEN $2 THEN 'stopped' ELSE state END, updated_at = now()
     WHERE managed AND id = ANY($1::text[]) RETURNING id`,
    [args.ids, args.disable],
  );
  return rows.map((r) => r.id);
}
