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
  lastContactAtMs: number | null;
}

/** Every managed target, enabled or not (a restart follows them all again). */
export async function listManagedTargets(args: { pool: Pool }): Promise<ManagedTargetRow[]> {
  const { rows } = await args.pool.query<ManagedTargetRow>(
    `SELECT id, team, url, labels, allow_insecure AS "allowInsecure", token_ciphertext AS "tokenCiphertext",
        (extract(epoch from last_contact_at) * 1000)::float8 AS "lastContactAtMs"
     FROM target WHERE managed ORDER BY id`,
  );
  return rows;
}

/**
 * Insert or replace a managed target's definition and enable it. A disabled row of the same name
 * (a target once in the config file) is taken over, keeping its threads and history; the caller
 * refuses names of targets that are currently followed from the config file.
 */
export async function upsertManagedTarget(args: {
  pool: Pool;
  target: Omit<ManagedTargetRow, "lastContactAtMs">;
}): Promise<void> {
  const t = args.target;
  await args.pool.query(
    `INSERT INTO target (id, team, url, labels, allow_insecure, token_ciphertext, managed, enabled, state, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, true, true, 'connecting', now())
     ON CONFLICT (id) DO UPDATE SET team = EXCLUDED.team, url = EXCLUDED.url, labels = EXCLUDED.labels,
        allow_insecure = EXCLUDED.allow_insecure, token_ciphertext = EXCLUDED.token_ciphertext,
        managed = true, enabled = true, updated_at = now()`,
    [t.id, t.team, t.url, JSON.stringify(t.labels), t.allowInsecure, t.tokenCiphertext],
  );
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
    `UPDATE target SET managed = false, token_ciphertext = NULL, allow_insecure = false,
        enabled = CASE WHEN $2 THEN false ELSE enabled END,
        state = CASE WHEN $2 THEN 'stopped' ELSE state END, updated_at = now()
     WHERE managed AND id = ANY($1::text[]) RETURNING id`,
    [args.ids, args.disable],
  );
  return rows.map((r) => r.id);
}
