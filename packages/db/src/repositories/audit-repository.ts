/**
 * The audit log (issue 17): one row per change made through the API. Written once, read newest
 * first with filters, deleted only by retention (retention.ts). Times are the collector's clock.
 */
import type { Pool } from "pg";
import { inTransaction } from "../transaction.ts";

/** Parameter `n` (epoch milliseconds) as a UTC `timestamp(3)`, the column type. */
const ts = (n: number) => `(to_timestamp($${n}::float8 / 1000) AT TIME ZONE 'UTC')`;

/** One change to record. `detail` must never hold a secret or a token. */
export interface AuditEventInput {
  atMs: number;
  principalKind: string;
  principalName: string;
  principalEmail: string | null;
  ip: string | null;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

/** A stored row. */
export interface AuditEventRow extends AuditEventInput {
  id: string;
}

/** Append one event. */
export async function insertAuditEvent(args: { pool: Pool; event: AuditEventInput }): Promise<void> {
  const e = args.event;
  await args.pool.query(
    `INSERT INTO audit_event (at, principal_kind, principal_name, principal_email, ip, action, subject, detail)
     VALUES (${ts(1)}, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [
      e.atMs,
      e.principalKind,
      e.principalName,
      e.principalEmail,
      e.ip,
      e.action,
      e.subject,
      JSON.stringify(e.detail),
    ],
  );
}

/**
 * Events newest first: `fromMs` inclusive, `toMs` exclusive; `actions` any of; `actor` matches
 * the principal's name or email exactly (case-insensitive).
 */
export async function listAuditEvents(args: {
  pool: Pool;
  fromMs?: number;
  toMs?: number;
  actions?: readonly string[];
  actor?: string;
  limit: number;
}): Promise<AuditEventRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (args.fromMs !== undefined) add((n) => `at >= ${ts(n)}`, args.fromMs);
  if (args.toMs !== undefined) add((n) => `at < ${ts(n)}`, args.toMs);
  if (args.actions !== undefined) add((n) => `action = ANY($${n}::text[])`, args.actions);
  if (args.actor !== undefined)
    add((n) => `(lower(principal_name) = lower($${n}) OR lower(principal_email) = lower($${n}))`, args.actor);
  params.push(args.limit);
  const { rows } = await args.pool.query<AuditEventRow>(
    `SELECT id::text AS id, (extract(epoch from at) * 1000)::float8 AS "atMs",
        principal_kind AS "principalKind", principal_name AS "principalName",
        principal_email AS "principalEmail", ip, action, subject, detail
     FROM audit_event
     ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
     ORDER BY at DESC, id DESC
     LIMIT $${params.length}`,
    params,
  );
  return rows;
}

/**
 * Record that a section of the config file (alert rules, budgets, price overrides…) changed: when
 * its fingerprint differs from the last one recorded for that section, one `config.change` row
 * with `detail` = `{fingerprint, …describe(previous value)}`; nothing when it is unchanged. So a
 * change made by editing the file shows once, at the first start that runs it, not at every start.
 * Collectors starting together are serialised by a transaction-scoped advisory lock per section.
 * Returns whether a row was written.
 */
export async function recordConfigSection(args: {
  pool: Pool;
  atMs: number;
  section: string;
  fingerprint: string;
  /** Stored in the row (`detail.value`): must never hold a secret. */
  value: unknown;
  /** What changed, from the value recorded last time (null: the first record of this section). */
  describe: (previous: unknown | null) => Record<string, unknown>;
}): Promise<boolean> {
  return inTransaction(args.pool, "BEGIN", async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('codex-fleet:audit-config:' || $1))", [
      args.section,
    ]);
    const { rows } = await client.query<{ detail: { fingerprint?: unknown; value?: unknown } }>(
      `SELECT detail FROM audit_event WHERE action = 'config.change' AND subject = $1
       ORDER BY at DESC, id DESC LIMIT 1`,
      [args.section],
    );
    const last = rows[0]?.detail ?? null;
    if (last !== null && last.fingerprint === args.fingerprint) return false;
    await client.query(
      `INSERT INTO audit_event (at, principal_kind, principal_name, principal_email, ip, action, subject, detail)
       VALUES (${ts(1)}, 'none', 'config file', NULL, NULL, 'config.change', $2, $3::jsonb)`,
      [
        args.atMs,
        args.section,
        JSON.stringify({
          ...args.describe(last === null ? null : (last.value ?? null)),
          fingerprint: args.fingerprint,
          value: args.value,
        }),
      ],
    );
    return true;
  });
}
