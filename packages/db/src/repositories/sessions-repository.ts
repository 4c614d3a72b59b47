/**
 * Sessions (issue 12): one row per signed-in browser, keyed by the hash of its session id (the
 * collector hashes; this module never sees an id). Times are passed in (the collector's clock, so
 * a test's fake clock drives expiry); Postgres only stores and compares them.
 */
import type { Pool } from "pg";

/** Parameter `n` (epoch milliseconds) as a UTC `timestamp(3)`, the column type. */
const ts = (n: number) => `(to_timestamp($${n}::float8 / 1000) AT TIME ZONE 'UTC')`;

/** Who signed in through single sign-on (issue 17); absent from static-token sessions. */
export interface SessionPerson {
  /** The identity provider's `sub`. */
  subject: string;
  name: string;
  email: string | null;
}

/** A stored session. */
export interface SessionRow {
  role: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** Null for a static-token session. */
  person: SessionPerson | null;
}

/**
 * Insert a session and, in the same statement, prune: every row expired at `nowMs`, and the
 * oldest beyond `maxSessions` live ones (counting the new one). Several collectors inserting at
 * once may briefly exceed the bound by their number; the next sign-in trims it again.
 */
export async function insertSession(args: {
  pool: Pool;
  keyHash: string;
  role: string;
  nowMs: number;
  expiresAtMs: number;
  maxSessions: number;
  person?: SessionPerson | null;
}): Promise<void> {
  // Data-modifying CTEs see the table as it was before the statement: the DELETE cannot touch
  // the row being inserted, and OFFSET max-1 keeps max-1 older rows beside it.
  await args.pool.query(
    `WITH added AS (
       INSERT INTO session (key_hash, role, created_at, expires_at, subject, name, email)
       VALUES ($1, $2, ${ts(3)}, ${ts(4)}, $6, $7, $8)
       RETURNING key_hash)
     DELETE FROM session
     WHERE expires_at <= ${ts(3)}
        OR key_hash IN (SELECT key_hash FROM session ORDER BY created_at DESC, key_hash OFFSET $5)`,
    [
      args.keyHash,
      args.role,
      args.nowMs,
      args.expiresAtMs,
      Math.max(0, args.maxSessions - 1),
      args.person?.subject ?? null,
      args.person?.name ?? null,
      args.person?.email ?? null,
    ],
  );
}

/** The session of `keyHash` if it is live at `nowMs`; an expired one is deleted and not returned. */
export async function findSession(args: {
  pool: Pool;
  keyHash: string;
  nowMs: number;
}): Promise<SessionRow | null> {
  const { rows } = await args.pool.query<
    Omit<SessionRow, "person"> & {
      live: boolean;
      subject: string | null;
      name: string | null;
      email: string | null;
    }
  >(
    `SELECT role, subject, name, email,
        (extract(epoch from created_at) * 1000)::float8 AS "createdAtMs",
        (extract(epoch from expires_at) * 1000)::float8 AS "expiresAtMs",
        expires_at > ${ts(2)} AS live
     FROM session WHERE key_hash = $1`,
    [args.keyHash, args.nowMs],
  );
  const row = rows[0];
  if (!row) return null;
  if (!row.live) {
    await deleteSession({ pool: args.pool, keyHash: args.keyHash });
    return null;
  }
  const person =
    row.subject === null ? null : { subject: row.subject, name: row.name ?? row.subject, email: row.email };
  return { role: row.role, createdAtMs: row.createdAtMs, expiresAtMs: row.expiresAtMs, person };
}

/** End one session (sign-out). */
export async function deleteSession(args: { pool: Pool; keyHash: string }): Promise<void> {
  await args.pool.query("DELETE FROM session WHERE key_hash = $1", [args.keyHash]);
}

/** Delete every session expired at `nowMs`; returns how many. */
export async function pruneSessions(args: { pool: Pool; nowMs: number }): Promise<number> {
  const res = await args.pool.query(`DELETE FROM session WHERE expires_at <= ${ts(1)}`, [args.nowMs]);
  return res.rowCount ?? 0;
}

/** Live and expired rows together (tests, metrics). */
export async function countSessions(args: { pool: Pool }): Promise<number> {
  const { rows } = await args.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM session");
  return rows[0]?.n ?? 0;
}
