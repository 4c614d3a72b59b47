/**
 * Price overrides added in the dashboard (issue 17): one row per model and date, the override
 * itself as JSON (the collector validates it with packages/pricing's schema before and after).
 */
import type { Pool } from "pg";

/** A stored override. `definition` is what the collector stored (validated again on reading). */
export interface PriceOverrideRow {
  id: number;
  model: string;
  /** YYYY-MM-DD. */
  effectiveFrom: string;
  definition: unknown;
  createdAtMs: number;
  createdBy: string | null;
}

const COLUMNS = `id, model, to_char(effective_from, 'YYYY-MM-DD') AS "effectiveFrom", definition,
  (extract(epoch from created_at) * 1000)::float8 AS "createdAtMs", created_by AS "createdBy"`;

/** Every stored override, by model and date. */
export async function listPriceOverrides(args: { pool: Pool }): Promise<PriceOverrideRow[]> {
  const { rows } = await args.pool.query<PriceOverrideRow>(
    `SELECT ${COLUMNS} FROM price_override ORDER BY model, effective_from`,
  );
  return rows;
}

/** Store an override; null when one for the same model and date exists already. */
export async function insertPriceOverride(args: {
  pool: Pool;
  model: string;
  effectiveFrom: string;
  definition: unknown;
  createdBy: string | null;
}): Promise<PriceOverrideRow | null> {
  const { rows } = await args.pool.query<PriceOverrideRow>(
    `INSERT INTO price_override (model, effective_from, definition, created_by)
     VALUES ($1, $2::date, $3::jsonb, $4)
     ON CONFLICT (model, effective_from) DO NOTHING RETURNING ${COLUMNS}`,
    [args.model, args.effectiveFrom, JSON.stringify(args.definition), args.createdBy],
  );
  return rows[0] ?? null;
}

/** Remove an override; the removed row, or null when there was none. */
export async function deletePriceOverride(args: {
  pool: Pool;
  id: number;
}): Promise<PriceOverrideRow | null> {
  const { rows } = await args.pool.query<PriceOverrideRow>(
    `DELETE FROM price_override WHERE id = $1 RETURNING ${COLUMNS}`,
    [args.id],
  );
  return rows[0] ?? null;
}
