/**
 * Leases in Postgres (issue 12): a row per lease name, held by one collector instance until
 * `expires_at`, which only the database clock (`now()`) compares. Every change is one conditioned
 * statement, so two instances racing for a lease cannot both win it:
 * - acquire: insert, or take over a row whose lease has expired (the fencing token grows by one);
 * - renew: only the holder, with the token it acquired, before expiry;
 * - release: only the holder with its token; the row stays (expired) so the token never goes back.
 * A holder that could not renew in time has lost the lease: it must stop acting on it before the
 * database lets another instance acquire it (the collector's local deadline, cluster/keeper.ts).
 */
import type { Pool } from "pg";

/** A lease this instance holds: the fencing token it acquired and when it expires (database clock). */
export interface HeldLease {
  name: string;
  token: number;
  expiresAtMs: number;
  /**
   * Who held it before (acquisitions only; as of the statement's snapshot): null for a new lease
   * row. Another instance's id here makes the acquisition a failover, this instance's a re-take.
   */
  previousHolder?: string | null;
}

/** A lease row as stored, with the database's verdict on whether it is still held. */
export interface LeaseRow {
  name: string;
  holder: string;
  holderName: string;
  token: number;
  expiresAtMs: number;
  /** expires_at > now() on the database clock. */
  live: boolean;
}

const ttl = (param: string) => `now() + (${param}::float8 * interval '1 millisecond')`;
const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/**
 * Acquire every free or expired lease among `names` for `holder`; returns those won (a lease held
 * by anyone, this holder included, and not expired is left alone: renew it instead).
 */
export async function acquireLeases(args: {
  pool: Pool;
  holder: string;
  holderName: string;
  names: readonly string[];
  ttlMs: number;
}): Promise<HeldLease[]> {
  if (args.names.length === 0) return [];
  const { rows } = await args.pool.query<HeldLease>(
    `WITH before AS (SELECT name, holder FROM lease WHERE name = ANY($1::text[]))
     INSERT INTO lease AS l (name, holder, holder_name, token, acquired_at, renewed_at, expires_at)
     SELECT n, $2, $3, 1, now(), now(), ${ttl("$4")} FROM unnest($1::text[]) AS n
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, holder_name = EXCLUDED.holder_name,
        token = l.token + 1, acquired_at = now(), renewed_at = now(), expires_at = EXCLUDED.expires_at
     WHERE l.expires_at <= now()
     RETURNING l.name, l.token, ${ms("l.expires_at")} AS "expiresAtMs",
       (SELECT b.holder FROM before b WHERE b.name = l.name) AS "previousHolder"`,
    [[...new Set(args.names)], args.holder, args.holderName, args.ttlMs],
  );
  return rows;
}

/**
 * Extend the leases `holder` still holds with the token it acquired, for another `ttlMs` from the
 * database's now; returns those renewed. One missing from the answer is lost (expired, or taken).
 */
export async function renewLeases(args: {
  pool: Pool;
  holder: string;
  leases: readonly { name: string; token: number }[];
  ttlMs: number;
}): Promise<HeldLease[]> {
  if (args.leases.length === 0) return [];
  const { rows } = await args.pool.query<HeldLease>(
    `UPDATE lease SET renewed_at = now(), expires_at = ${ttl("$4")}
     FROM unnest($2::text[], $3::int8[]) AS x(name, token)
     WHERE lease.name = x.name AND lease.token = x.token AND lease.holder = $1 AND lease.expires_at > now()
     RETURNING lease.name, lease.token, ${ms("lease.expires_at")} AS "expiresAtMs"`,
    [args.holder, args.leases.map((l) => l.name), args.leases.map((l) => l.token), args.ttlMs],
  );
  return rows;
}

/**
 * Leases with their tokens as a renewal's parameters, serialised once: a holder renews the same
 * leases round after round, and rebuilding (and having `pg` serialise) arrays of every name and
 * token each round is most of what an idle collector following thousands of targets allocates.
 */
export interface LeaseBatch {
  readonly names: readonly string[];
  readonly tokens: readonly number[];
  /** `names` as a Postgres `text[]` literal. */
  readonly namesParam: string;
  /** `tokens` as a Postgres `int8[]` literal. */
  readonly tokensParam: string;
}

/** A `text[]` literal: every element quoted, `"` and `\` escaped (what `pg` sends for an array). */
const textArrayLiteral = (xs: readonly string[]): string =>
  `{${xs.map((x) => `"${x.replace(/[\\"]/g, "\\$&")}"`).join(",")}}`;

export function leaseBatch(leases: readonly { name: string; token: number }[]): LeaseBatch {
  const names = leases.map((l) => l.name);
  const tokens = leases.map((l) => l.token);
  return {
    names,
    tokens,
    namesParam: textArrayLiteral(names),
    tokensParam: `{${tokens.map((t) => String(Math.trunc(t))).join(",")}}`,
  };
}

/**
 * `renewLeases` for a prepared batch, answering the other way round: the names of the batch NOT
 * renewed (expired, taken, or released) — none in a normal round, so the answer stays small
 * however many leases are renewed. Same conditions: holder, token, not expired.
 */
export async function renewLeaseBatch(args: {
  pool: Pool;
  holder: string;
  batch: LeaseBatch;
  ttlMs: number;
}): Promise<string[]> {
  if (args.batch.names.length === 0) return [];
  const { rows } = await args.pool.query<{ name: string }>(
    `WITH x AS (SELECT * FROM unnest($2::text[], $3::int8[]) AS x(name, token)),
     renewed AS (
       UPDATE lease SET renewed_at = now(), expires_at = ${ttl("$4")}
       FROM x
       WHERE lease.name = x.name AND lease.token = x.token AND lease.holder = $1 AND lease.expires_at > now()
       RETURNING lease.name)
     SELECT x.name FROM x WHERE NOT EXISTS (SELECT 1 FROM renewed r WHERE r.name = x.name)`,
    [args.holder, args.batch.namesParam, args.batch.tokensParam, args.ttlMs],
  );
  return rows.map((r) => r.name);
}

/**
 * "Now" as the millisecond columns can hold it without landing in the future: stored in a
 * `timestamptz(3)`, `now()` is rounded, up by as much as 0.5 ms, and a lease "expired now" would
 * still be live for an acquire that follows within that half millisecond (seen: a flaky test).
 */
const NOW_MS = "date_trunc('milliseconds', now())";

/** Give up leases (expire them now) so that another instance can acquire them at once. */
export async function releaseLeases(args: {
  pool: Pool;
  holder: string;
  leases: readonly { name: string; token: number }[];
}): Promise<string[]> {
  if (args.leases.length === 0) return [];
  const { rows } = await args.pool.query<{ name: string }>(
    `UPDATE lease SET expires_at = LEAST(expires_at, ${NOW_MS})
     FROM unnest($2::text[], $3::int8[]) AS x(name, token)
     WHERE lease.name = x.name AND lease.token = x.token AND lease.holder = $1
     RETURNING lease.name`,
    [args.holder, args.leases.map((l) => l.name), args.leases.map((l) => l.token)],
  );
  return rows.map((r) => r.name);
}

/**
 * Expire every lease of instances known to be gone (a predecessor on this host killed before it
 * could release them; the embedded database's previous process). Returns how many were expired.
 */
export async function expireLeasesOf(args: { pool: Pool; holders: readonly string[] }): Promise<number> {
  if (args.holders.length === 0) return 0;
  const { rowCount } = await args.pool.query(
    `UPDATE lease SET expires_at = ${NOW_MS} WHERE holder = ANY($1::text[]) AND expires_at > now()`,
    [[...args.holders]],
  );
  return rowCount ?? 0;
}

/** Every lease row (optionally those whose name starts with `prefix`), with the database's time. */
export async function listLeases(args: {
  pool: Pool;
  prefix?: string;
}): Promise<{ nowMs: number; leases: LeaseRow[] }> {
  const { rows } = await args.pool.query<LeaseRow & { nowMs: number }>(
    `SELECT name, holder, holder_name AS "holderName", token, ${ms("expires_at")} AS "expiresAtMs",
        expires_at > now() AS live, ${ms("now()")} AS "nowMs"
     FROM lease WHERE $1::text IS NULL OR starts_with(name, $1::text) ORDER BY name`,
    [args.prefix ?? null],
  );
  const nowMs =
    rows[0]?.nowMs ??
    (await args.pool.query<{ nowMs: number }>(`SELECT ${ms("now()")} AS "nowMs"`)).rows[0]?.nowMs ??
    0;
  return { nowMs, leases: rows.map(({ nowMs: _n, ...l }) => l) };
}

/** A live lease: who holds it. */
export interface LiveLease {
  name: string;
  holder: string;
  holderName: string;
}

/**
 * The live leases (expires_at > now() on the database clock) and a digest of them (SHA-256 of
 * every name, holder and holder name, length-prefixed, in name order) — or, when the digest is
 * still `unless`, the digest alone (`leases` null): a keeper reading the same thousands of rows
 * every round reads them only when something changed.
 */
export async function listLiveLeases(args: {
  pool: Pool;
  unless?: string | null;
}): Promise<{ digest: string; leases: LiveLease[] | null }> {
  const { rows } = await args.pool.query<{ digest: string | null } & LiveLease>(
    `WITH live AS MATERIALIZED (SELECT name, holder, holder_name FROM lease WHERE expires_at > now()),
     d AS (
       SELECT encode(sha256(convert_to(coalesce(string_agg(
          length(name) || ':' || name || length(holder) || ':' || holder || length(holder_name) || ':' || holder_name,
          ',' ORDER BY name), ''), 'UTF8')), 'hex') AS digest
       FROM live)
     SELECT d.digest, NULL::text AS name, NULL::text AS holder, NULL::text AS "holderName" FROM d
     UNION ALL
     SELECT NULL, l.name, l.holder, l.holder_name FROM live l, d WHERE d.digest IS DISTINCT FROM $1::text`,
    [args.unless ?? null],
  );
  let digest = "";
  const leases: LiveLease[] = [];
  for (const r of rows) {
    if (r.name === null) digest = r.digest ?? "";
    else leases.push({ name: r.name, holder: r.holder, holderName: r.holderName });
  }
  return { digest, leases: digest === args.unless ? null : leases };
}

/** The fencing token of a lease, checked inside a transaction that acts under it. */
export interface LeaseFence {
  name: string;
  holder: string;
  token: number;
}

/** A write under a lease that its holder no longer holds: the transaction is rolled back. */
export class LeaseLostError extends Error {}

/**
 * Inside a transaction: check that `fence` still holds its lease, and lock the row (FOR SHARE) so
 * that no other instance can acquire it before this transaction ends. Throws LeaseLostError.
 */
export async function assertLeaseHeld(client: Pick<Pool, "query">, fence: LeaseFence): Promise<void> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM lease WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now() FOR SHARE`,
    [fence.name, fence.holder, fence.token],
  );
  if (!rowCount)
    throw new LeaseLostError(
      `lease ${fence.name} (token ${fence.token}) is no longer held by this instance: write refused`,
    );
}
