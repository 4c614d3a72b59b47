/**
 * API keys (issue 17): one row per key, found by the hash of its secret (the collector hashes;
 * this module never sees a secret). Times are passed in (the collector's clock, so a test's fake
 * clock drives expiry and last use); Postgres only stores and compares them.
 */
import type { Pool } from "pg";

/** Parameter `n` (epoch milliseconds) as a UTC `timestamp(3)`, the column type. */
const ts = (n: number) => `(to_timestamp($${n}::float8 / 1000) AT TIME ZONE 'UTC')`;
/** A `timestamp(3)` column as epoch milliseconds (null stays null). */
const ms = (column: string, as: string) => `(extract(epoch from ${column}) * 1000)::float8 AS "${as}"`;

const COLUMNS = [
  "id",
  "name",
  "role",
  "prefix",
  ms("created_at", "createdAtMs"),
  `created_by AS "createdBy"`,
  ms("expires_at", "expiresAtMs"),
  ms("revoked_at", "revokedAtMs"),
  ms("last_used_at", "lastUsedAtMs"),
].join(", ");

/** A stored key, without its hash. */
export interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  /** The secret's first characters ("cfk_Ab12Cd"), to tell keys apart. */
  prefix: string;
  createdAtMs: number;
  createdBy: string;
  expiresAtMs: number | null;
  revokedAtMs: number | null;
  lastUsedAtMs: number | null;
}

/** Raised by {@link insertApiKey} when a key not revoked already has the name. */
export class ApiKeyNameTaken extends Error {
  constructor(readonly keyName: string) {
    super(`an API key named ${keyName} already exists`);
  }
}

/** Store a new key; throws {@link ApiKeyNameTaken} when a live key has the name. */
export async function insertApiKey(args: {
  pool: Pool;
  id: string;
  name: string;
  role: string;
  secretHash: string;
  prefix: string;
  createdBy: string;
  nowMs: number;
  expiresAtMs: number | null;
}): Promise<ApiKeyRow> {
  try {
    const { rows } = await args.pool.query<ApiKeyRow>(
      `INSERT INTO api_key (id, name, role, secret_hash, prefix, created_at, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, ${ts(6)}, $7,
               CASE WHEN $8::float8 IS NULL THEN NULL ELSE ${ts(8)} END)
       RETURNING ${COLUMNS}`,
      [
        args.id,
        args.name,
        args.role,
        args.secretHash,
        args.prefix,
        args.nowMs,
        args.createdBy,
        args.expiresAtMs,
      ],
    );
    return rows[0] as ApiKeyRow;
  } catch (err) {
    // 23505: unique_violation; the name index (the hash of 32 random bytes does not collide).
    if ((err as { code?: string; constraint?: string }).constraint === "api_key_live_name_key")
      throw new ApiKeyNameTaken(args.name);
    throw err;
  }
}

/** Every key, revoked ones too, newest first. */
export async function listApiKeys(args: { pool: Pool }): Promise<ApiKeyRow[]> {
  const { rows } = await args.pool.query<ApiKeyRow>(
    `SELECT ${COLUMNS} FROM api_key ORDER BY created_at DESC, id`,
  );
  return rows;
}

/** The key whose secret hashes to `secretHash`, revoked or expired ones too (the caller decides). */
export async function findApiKeyByHash(args: { pool: Pool; secretHash: string }): Promise<ApiKeyRow | null> {
  const { rows } = await args.pool.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_key WHERE secret_hash = $1`, [
    args.secretHash,
  ]);
  return rows[0] ?? null;
}

/**
 * Revoke key `id` at `nowMs` (a key revoked before keeps its time). Null when there is no such key;
 * `alreadyRevoked` says whether this call changed nothing.
 */
export async function revokeApiKey(args: {
  pool: Pool;
  id: string;
  nowMs: number;
}): Promise<{ key: ApiKeyRow; alreadyRevoked: boolean } | null> {
  const { rows } = await args.pool.query<ApiKeyRow & { changed: boolean }>(
    `WITH before AS (SELECT id, revoked_at IS NULL AS changed FROM api_key WHERE id = $1),
     updated AS (
       UPDATE api_key SET revoked_at = COALESCE(revoked_at, ${ts(2)}) WHERE id = $1 RETURNING *)
     SELECT ${COLUMNS}, before.changed FROM updated JOIN before USING (id)`,
    [args.id, args.nowMs],
  );
  const row = rows[0];
  if (!row) return null;
  const { changed, ...key } = row;
  return { key, alreadyRevoked: !changed };
}

/**
 * Record a use of key `id` at `nowMs`, unless one at most `minGapMs` earlier is already stored
 * (several collectors on one database write at most about once a gap each). Returns whether a
 * row changed.
 */
export async function touchApiKey(args: {
  pool: Pool;
  id: string;
  nowMs: number;
  minGapMs: number;
}): Promise<boolean> {
  const res = await args.pool.query(
    `UPDATE api_key SET last_used_at = ${ts(2)}
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= ${ts(3)})`,
    [args.id, args.nowMs, args.nowMs - args.minGapMs],
  );
  return (res.rowCount ?? 0) > 0;
}
