/**
 * Alerts, silences and the notification outbox (tables `alert`, `silence`,
 * `notification_delivery`), plus the two reads the alert rules need from ingest: recent failed
 * turns and today's spend. Times are epoch ms in and out; columns are `timestamp(3)` in UTC.
 */

import type { Pool } from "pg";
import { assertLeaseHeld, type LeaseFence } from "./lease-repository.ts";

/** An alert row. `openKey` is the identity while pending/firing, null once resolved. */
export interface StoredAlert {
  id: string;
  ruleId: string;
  kind: string;
  subjectType: string;
  subjectId: string;
  groupKey: string;
  targetId: string | null;
  threadId: string | null;
  team: string | null;
  severity: string;
  state: string;
  summary: string;
  value: number | null;
  details: Record<string, unknown>;
  pendingSinceMs: number;
  firingSinceMs: number | null;
  resolvedAtMs: number | null;
  lastNotifiedAtMs: number | null;
  ackBy: string | null;
  /** The signed-in role that acknowledged; null with auth off. */
  ackRole: string | null;
  ackAtMs: number | null;
  silenced: boolean;
  openKey: string | null;
  updatedAtMs: number;
}

/** A silence row. */
export interface StoredSilence {
  id: string;
  matchers: Record<string, string>;
  comment: string;
  createdBy: string;
  createdAtMs: number;
  endsAtMs: number;
}

/** A notification to queue for one notifier. */
export interface NewNotification {
  alertId: string;
  notificationId: string;
  notifier: string;
  event: string;
  payload: unknown;
  createdAtMs: number;
}

/** A queued notification claimed for delivery. */
export interface ClaimedNotification {
  id: number;
  alertId: string;
  notificationId: string;
  notifier: string;
  event: string;
  payload: unknown;
  /** Attempts made before this claim. */
  attempt: number;
}

/** A delivery log entry (one attempt). */
export interface DeliveryAttempt {
  attempt: number;
  atMs: number;
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** A notification row with its log, for the API and tests. */
export interface StoredDelivery {
  id: number;
  alertId: string;
  notificationId: string;
  notifier: string;
  event: string;
  state: string;
  attempt: number;
  ok: boolean;
  status: number | null;
  error: string | null;
  log: DeliveryAttempt[];
  createdAtMs: number;
  deliveredAtMs: number | null;
}

const ms = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;
const ts = (expr: string) => `to_timestamp((${expr}) / 1000.0) AT TIME ZONE 'UTC'`;

const ALERT_COLUMNS = `id, rule_id AS "ruleId", kind, subject_type AS "subjectType", subject_id AS "subjectId",
  group_key AS "groupKey", target_id AS "targetId", thread_id AS "threadId", team, severity, state, summary, value,
  details, ${ms("pending_since")} AS "pendingSinceMs", ${ms("firing_since")} AS "firingSinceMs",
  ${ms("resolved_at")} AS "resolvedAtMs", ${ms("last_notified_at")} AS "lastNotifiedAtMs", ack_by AS "ackBy",
  ${ms("ack_at")} AS "ackAtMs", silenced, open_key AS "openKey", ${ms("updated_at")} AS "updatedAtMs",
  ack_role AS "ackRole"`;

/** Every pending or firing alert (the engine's state at start). */
export async function listOpenAlerts(args: { pool: Pool }): Promise<StoredAlert[]> {
  const { rows } = await args.pool.query<StoredAlert>(
    `SELECT ${ALERT_COLUMNS} FROM alert WHERE state <> 'resolved' ORDER BY pending_since, id`,
  );
  return rows;
}

/** Filters of {@link listAlerts}; each list matches any of its values. */
export interface AlertFilter {
  states?: string[];
  ruleIds?: string[];
  kinds?: string[];
  targets?: string[];
  teams?: string[];
  threadId?: string;
  limit: number;
}

/** Alerts, newest first. */
export async function listAlerts(args: { pool: Pool } & AlertFilter): Promise<StoredAlert[]> {
  const { rows } = await args.pool.query<StoredAlert>(
    `SELECT ${ALERT_COLUMNS} FROM alert
     WHERE ($1::text[] IS NULL OR state = ANY($1)) AND ($2::text[] IS NULL OR rule_id = ANY($2))
       AND ($3::text[] IS NULL OR kind = ANY($3)) AND ($4::text[] IS NULL OR target_id = ANY($4))
       AND ($5::text[] IS NULL OR team = ANY($5)) AND ($6::text IS NULL OR thread_id = $6)
     ORDER BY pending_since DESC, id LIMIT $7`,
    [
      args.states ?? null,
      args.ruleIds ?? null,
      args.kinds ?? null,
      args.targets ?? null,
      args.teams ?? null,
      args.threadId ?? null,
      args.limit,
    ],
  );
  return rows;
}

/** One alert by id, or null. */
export async function getAlert(args: { pool: Pool; id: string }): Promise<StoredAlert | null> {
  const { rows } = await args.pool.query<StoredAlert>(`SELECT ${ALERT_COLUMNS} FROM alert WHERE id = $1`, [
    args.id,
  ]);
  return rows[0] ?? null;
}

/**
 * Acknowledge an open alert in one conditioned statement (an instance that does not run the alert
 * engine: the leader re-reads it). Null when no pending or firing alert has this id.
 */
export async function acknowledgeAlert(args: {
  pool: Pool;
  id: string;
  by: string;
  /** The signed-in role; null with auth off. */
  role?: string | null;
  atMs: number;
}): Promise<StoredAlert | null> {
  const { rows } = await args.pool.query<StoredAlert>(
    `UPDATE alert SET ack_by = $2, ack_at = ${ts("$3::float8")}, updated_at = ${ts("$3::float8")}, ack_role = $4
     WHERE id = $1 AND state <> 'resolved' RETURNING ${ALERT_COLUMNS}`,
    [args.id, args.by, args.atMs, args.role ?? null],
  );
  return rows[0] ?? null;
}

/**
 * Persist one evaluation's outcome atomically: alerts written (inserted or updated), dropped
 * pending alerts deleted, and the notifications those transitions owe queued. Either all of it is
 * stored or none, so a crash can neither lose a notification nor record one twice; a notification
 * queued twice (same id and notifier) is ignored.
 */
export async function saveAlertChanges(args: {
  pool: Pool;
  upserts: StoredAlert[];
  deletes: string[];
  notifications: NewNotification[];
  /** The alert leader's lease (several collectors): checked and locked in this transaction. */
  fence?: LeaseFence | null;
  /** Alert groups these transitions change (issue 16): marked due in the same transaction. */
  groups?: GroupMark[];
}): Promise<void> {
  const client = await args.pool.connect();
  try {
    await client.query("BEGIN");
    if (args.fence) await assertLeaseHeld(client, args.fence);
    if (args.groups && args.groups.length > 0) await markGroups(client, args.groups);
    if (args.deletes.length > 0) {
      await client.query(`DELETE FROM alert WHERE id = ANY($1::text[]) AND state <> 'firing'`, [
        args.deletes,
      ]);
    }
    if (args.upserts.length > 0) {
      await client.query(
        `INSERT INTO alert (id, rule_id, kind, subject_type, subject_id, group_key, target_id, thread_id, team, severity,
            state, summary, value, details, pending_since, firing_since, resolved_at, last_notified_at, ack_by, ack_at,
            silenced, open_key, updated_at, ack_role)
         SELECT x.id, x."ruleId", x.kind, x."subjectType", x."subjectId", x."groupKey", x."targetId", x."threadId", x.team,
            x.severity, x.state, x.summary, x.value, COALESCE(x.details, '{}'), ${ts(`x."pendingSinceMs"`)},
            ${ts(`x."firingSinceMs"`)}, ${ts(`x."resolvedAtMs"`)}, ${ts(`x."lastNotifiedAtMs"`)}, x."ackBy",
            ${ts(`x."ackAtMs"`)}, x.silenced, x."openKey", ${ts(`x."updatedAtMs"`)}, x."ackRole"
         FROM jsonb_to_recordset($1::jsonb) AS x(id text, "ruleId" text, kind text, "subjectType" text, "subjectId" text,
            "groupKey" text, "targetId" text, "threadId" text, team text, severity text, state text, summary text,
            value float8, details jsonb, "pendingSinceMs" float8, "firingSinceMs" float8, "resolvedAtMs" float8,
            "lastNotifiedAtMs" float8, "ackBy" text, "ackAtMs" float8, silenced boolean, "openKey" text,
            "updatedAtMs" float8, "ackRole" text)
         ON CONFLICT (id) DO UPDATE SET severity = EXCLUDED.severity, state = EXCLUDED.state, summary = EXCLUDED.summary,
            value = EXCLUDED.value, details = EXCLUDED.details, pending_since = EXCLUDED.pending_since,
            firing_since = EXCLUDED.firing_since, resolved_at = EXCLUDED.resolved_at,
            last_notified_at = EXCLUDED.last_notified_at,
            -- An acknowledgement made on another instance (acknowledgeAlert) is never undone by a
            -- leader that has not re-read it yet; a newer one replaces it.
            ack_by = COALESCE(EXCLUDED.ack_by, alert.ack_by),
            ack_at = CASE WHEN EXCLUDED.ack_by IS NULL THEN alert.ack_at ELSE EXCLUDED.ack_at END,
            ack_role = CASE WHEN EXCLUDED.ack_by IS NULL THEN alert.ack_role ELSE EXCLUDED.ack_role END,
            silenced = EXCLUDED.silenced, open_key = EXCLUDED.open_key, updated_at = EXCLUDED.updated_at`,
        [JSON.stringify(args.upserts)],
      );
    }
    if (args.notifications.length > 0) {
      await client.query(
        `INSERT INTO notification_delivery (alert_id, notification_id, notifier, event, payload, state, attempt, ok,
            next_attempt_at, at, updated_at)
         SELECT x."alertId", x."notificationId", x.notifier, x.event, x.payload, 'pending', 0, false,
            ${ts(`x."createdAtMs"`)}, ${ts(`x."createdAtMs"`)}, ${ts(`x."createdAtMs"`)}
         FROM jsonb_to_recordset($1::jsonb) AS x("alertId" text, "notificationId" text, notifier text, event text,
            payload jsonb, "createdAtMs" float8)
         -- An alert acknowledged (on any instance) is not notified again until it resolves.
         WHERE NOT (x.event IN ('firing', 'repeat')
            AND EXISTS (SELECT 1 FROM alert a WHERE a.id = x."alertId" AND a.ack_by IS NOT NULL))
         ON CONFLICT (notification_id, notifier) DO NOTHING`,
        [JSON.stringify(args.notifications)],
      );
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

const SILENCE_COLUMNS = `id, matchers, comment, created_by AS "createdBy", ${ms("created_at")} AS "createdAtMs",
  ${ms("ends_at")} AS "endsAtMs"`;

/** Silences still active at `activeAtMs` (all of them when omitted), soonest end first. */
export async function listSilences(args: {
  pool: Pool;
  /** Only silences still in force at this time. */
  activeAtMs?: number;
  /** Only silences that ended by this time. */
  expiredAtMs?: number;
  /** At most this many (default: all; the HTTP API always bounds it). */
  limit?: number;
}): Promise<StoredSilence[]> {
  const { rows } = await args.pool.query<StoredSilence>(
    `SELECT ${SILENCE_COLUMNS} FROM silence
     WHERE ($1::float8 IS NULL OR ends_at > ${ts("$1::float8")})
       AND ($2::float8 IS NULL OR ends_at <= ${ts("$2::float8")})
     ORDER BY ends_at, id LIMIT $3`,
    [args.activeAtMs ?? null, args.expiredAtMs ?? null, args.limit ?? null],
  );
  return rows;
}

/** Store a new silence. */
export async function createSilence(args: { pool: Pool; silence: StoredSilence }): Promise<StoredSilence> {
  const s = args.silence;
  const { rows } = await args.pool.query<StoredSilence>(
    `INSERT INTO silence (id, matchers, comment, created_by, created_at, ends_at)
     VALUES ($1, $2::jsonb, $3, $4, ${ts("$5::float8")}, ${ts("$6::float8")}) RETURNING ${SILENCE_COLUMNS}`,
    [s.id, JSON.stringify(s.matchers), s.comment, s.createdBy, s.createdAtMs, s.endsAtMs],
  );
  return rows[0] as StoredSilence;
}

/** End a silence at `atMs` (if it ends later); null when there is no such silence. */
export async function expireSilence(args: {
  pool: Pool;
  id: string;
  atMs: number;
}): Promise<StoredSilence | null> {
  const { rows } = await args.pool.query<StoredSilence>(
    `UPDATE silence SET ends_at = LEAST(ends_at, ${ts("$2::float8")}) WHERE id = $1 RETURNING ${SILENCE_COLUMNS}`,
    [args.id, args.atMs],
  );
  return rows[0] ?? null;
}

/**
 * Claim up to `limit` due notifications for the given notifiers: marks them leased until
 * `leaseUntilMs` so that no other claimer takes them meanwhile (`SKIP LOCKED` against concurrent
 * claimers). A notification waits while an older one for the same alert and notifier is still
 * pending, so a receiver always gets `firing` before `resolved`.
 */
export async function claimDueNotifications(args: {
  pool: Pool;
  nowMs: number;
  leaseUntilMs: number;
  notifiers: string[];
  limit: number;
}): Promise<ClaimedNotification[]> {
  const { rows } = await args.pool.query<ClaimedNotification>(
    `UPDATE notification_delivery d SET next_attempt_at = ${ts("$2::float8")}, updated_at = ${ts("$1::float8")}
     WHERE d.id IN (
       SELECT o.id FROM notification_delivery o
       WHERE o.state = 'pending' AND o.next_attempt_at <= ${ts("$1::float8")} AND o.notifier = ANY($3::text[])
         AND NOT EXISTS (SELECT 1 FROM notification_delivery p WHERE p.alert_id = o.alert_id
           AND p.notifier = o.notifier AND p.state = 'pending' AND p.id < o.id)
       ORDER BY o.id LIMIT $4 FOR UPDATE SKIP LOCKED)
     RETURNING d.id::float8 AS id, d.alert_id AS "alertId", d.notification_id AS "notificationId", d.notifier, d.event,
       d.payload, d.attempt`,
    [args.nowMs, args.leaseUntilMs, args.notifiers, args.limit],
  );
  return rows.sort((a, b) => a.id - b.id);
}

/** The earliest time a pending notification for these notifiers becomes due, or null. */
export async function nextNotificationDueMs(args: {
  pool: Pool;
  notifiers: string[];
}): Promise<number | null> {
  const { rows } = await args.pool.query<{ due: number | null }>(
    `SELECT ${ms("min(next_attempt_at)")} AS due FROM notification_delivery
     WHERE state = 'pending' AND notifier = ANY($1::text[])`,
    [args.notifiers],
  );
  return rows[0]?.due ?? null;
}

/**
 * Log one attempt and move the notification on: `delivered`, `failed` (given up), or still
 * `pending` with its lease renewed until `nextAttemptAtMs` (retrying, or released at shutdown).
 */
export async function recordDeliveryAttempt(args: {
  pool: Pool;
  id: number;
  attempt: DeliveryAttempt | null;
  outcome: "delivered" | "failed" | "pending";
  nextAttemptAtMs: number;
}): Promise<void> {
  const a = args.attempt;
  await args.pool.query(
    `UPDATE notification_delivery SET
        state = $2, ok = ($2 = 'delivered'),
        attempt = COALESCE(($3::jsonb ->> 'attempt')::int, attempt),
        status = CASE WHEN $3::jsonb IS NULL THEN status ELSE ($3::jsonb ->> 'status')::int END,
        error = CASE WHEN $3::jsonb IS NULL THEN error ELSE $3::jsonb ->> 'error' END,
        log = CASE WHEN $3::jsonb IS NULL THEN log ELSE log || jsonb_build_array($3::jsonb) END,
        next_attempt_at = ${ts("$4::float8")},
        delivered_at = CASE WHEN $2 = 'delivered' THEN ${ts("($3::jsonb ->> 'atMs')::float8")} ELSE delivered_at END,
        updated_at = ${ts("COALESCE(($3::jsonb ->> 'atMs')::float8, $4::float8)")}
     WHERE id = $1`,
    [args.id, args.outcome, a === null ? null : JSON.stringify(a), args.nextAttemptAtMs],
  );
}

/** Pending notifications for notifiers no longer configured are marked failed (they can never be sent). */
export async function failOrphanedNotifications(args: {
  pool: Pool;
  notifiers: string[];
  atMs: number;
}): Promise<number> {
  const { rowCount } = await args.pool.query(
    `UPDATE notification_delivery SET state = 'failed', error = 'notifier no longer configured', updated_at = ${ts("$2::float8")}
     WHERE state = 'pending' AND NOT (notifier = ANY($1::text[]))`,
    [args.notifiers, args.atMs],
  );
  return rowCount ?? 0;
}

/** Notifications with their delivery log, oldest first (optionally of one alert). */
export async function listDeliveries(args: {
  pool: Pool;
  alertId?: string;
  limit?: number;
}): Promise<StoredDelivery[]> {
  const { rows } = await args.pool.query<StoredDelivery>(
    `SELECT id::float8 AS id, alert_id AS "alertId", notification_id AS "notificationId", notifier, event, state, attempt, ok,
        status, error, log, ${ms("at")} AS "createdAtMs", ${ms("delivered_at")} AS "deliveredAtMs"
     FROM notification_delivery WHERE $1::text IS NULL OR alert_id = $1 ORDER BY id LIMIT $2`,
    [args.alertId ?? null, args.limit ?? 1000],
  );
  return rows;
}

/** A failed turn, for the turnFailed rules after a restart. */
export interface StoredFailedTurn {
  turnId: string;
  threadId: string;
  targetId: string;
  codexErrorInfo: string | null;
  atMs: number;
}

/** Turns that failed at or after `sinceMs` (by completion time, else start time). */
export async function listRecentFailedTurns(args: {
  pool: Pool;
  sinceMs: number;
}): Promise<StoredFailedTurn[]> {
  const { rows } = await args.pool.query<StoredFailedTurn>(
    `SELECT id AS "turnId", thread_id AS "threadId", target_id AS "targetId", codex_error_info AS "codexErrorInfo",
        ${ms("COALESCE(completed_at, started_at)")} AS "atMs"
     FROM turn WHERE status = 'failed' AND COALESCE(completed_at, started_at) >= ${ts("$1::float8")}
     ORDER BY 5`,
    [args.sinceMs],
  );
  return rows;
}

/** Cost per target (and team) of the hours in [fromMs, toMs), from the hourly rollup. */
export async function spendByTarget(args: {
  pool: Pool;
  fromMs: number;
  toMs: number;
}): Promise<{ targetId: string; team: string; costUsd: number }[]> {
  const { rows } = await args.pool.query<{ targetId: string; team: string; costUsd: number }>(
    `SELECT target_id AS "targetId", team, sum(cost_usd)::float8 AS "costUsd" FROM usage_hourly
     WHERE hour >= ${ts("$1::float8")} AND hour < ${ts("$2::float8")} GROUP BY 1, 2 ORDER BY 1, 2`,
    [args.fromMs, args.toMs],
  );
  return rows;
}

/** Delete resolved alerts, finished notifications and ended silences older than `beforeMs`. */
export async function pruneAlertHistory(args: { pool: Pool; beforeMs: number }): Promise<number> {
  const before = ts("$1::float8");
  const results = await Promise.all([
    args.pool.query(`DELETE FROM alert WHERE state = 'resolved' AND resolved_at < ${before}`, [
      args.beforeMs,
    ]),
    args.pool.query(`DELETE FROM notification_delivery WHERE state <> 'pending' AND updated_at < ${before}`, [
      args.beforeMs,
    ]),
    args.pool.query(`DELETE FROM silence WHERE ends_at < ${before}`, [args.beforeMs]),
    // Ended groups, once no message of theirs is stored: a group made again starts its `seq` (and
    // so its notification ids) from 0, which must not meet an old id.
    args.pool.query(
      `DELETE FROM notification_group g WHERE g.notified = '[]'::jsonb AND g.next_flush_at IS NULL
         AND g.updated_at < ${before} AND NOT EXISTS (SELECT 1 FROM notification_delivery d
           WHERE d.alert_id = g.group_key AND d.notifier = g.receiver)`,
      [args.beforeMs],
    ),
  ]);
  return results.reduce((n, r) => n + (r.rowCount ?? 0), 0);
}

// ── Alert groups (issue 16): table `notification_group` ─────────────────────────────────────────

/** A group an alert transition changed: created, or its next flush brought forward. */
export interface GroupMark {
  receiver: string;
  groupKey: string;
  labels: Record<string, string>;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  atMs: number;
}

/** A group row. */
export interface StoredGroup {
  receiver: string;
  groupKey: string;
  labels: Record<string, string>;
  /** Ids of the alerts the receiver last heard as firing. */
  notified: string[];
  seq: number;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  nextFlushAtMs: number | null;
  lastFlushAtMs: number | null;
}

const GROUP_COLUMNS = `receiver, group_key AS "groupKey", labels, notified, seq, group_wait_ms::float8 AS "groupWaitMs",
  group_interval_ms::float8 AS "groupIntervalMs", repeat_interval_ms::float8 AS "repeatIntervalMs",
  ${ms("next_flush_at")} AS "nextFlushAtMs", ${ms("last_flush_at")} AS "lastFlushAtMs"`;

/**
 * Mark groups changed, in one statement (the caller's transaction). The next flush, as
 * grouping/groups.ts `nextFlushAfterChange` says: a group that has not sent in this episode keeps
 * its first time, or starts one groupWait from now; one that has sent flushes at the earliest of
 * its scheduled time and one groupInterval after its last message.
 */
async function markGroups(client: Pick<Pool, "query">, marks: GroupMark[]): Promise<void> {
  const unique = [...new Map(marks.map((m) => [`${m.receiver}\u0000${m.groupKey}`, m])).values()];
  await client.query(
    `INSERT INTO notification_group AS g (receiver, group_key, labels, group_wait_ms, group_interval_ms,
        repeat_interval_ms, next_flush_at, created_at, updated_at)
     SELECT x.receiver, x."groupKey", x.labels, x."groupWaitMs", x."groupIntervalMs", x."repeatIntervalMs",
        ${ts(`x."atMs" + x."groupWaitMs"`)}, ${ts(`x."atMs"`)}, ${ts(`x."atMs"`)}
     FROM jsonb_to_recordset($1::jsonb) AS x(receiver text, "groupKey" text, labels jsonb, "groupWaitMs" int8,
        "groupIntervalMs" int8, "repeatIntervalMs" int8, "atMs" float8)
     ON CONFLICT (receiver, group_key) DO UPDATE SET labels = EXCLUDED.labels,
        group_wait_ms = EXCLUDED.group_wait_ms, group_interval_ms = EXCLUDED.group_interval_ms,
        repeat_interval_ms = EXCLUDED.repeat_interval_ms, updated_at = EXCLUDED.updated_at,
        next_flush_at = CASE
          WHEN jsonb_array_length(g.notified) = 0 OR g.last_flush_at IS NULL
            THEN COALESCE(g.next_flush_at, EXCLUDED.next_flush_at)
          ELSE LEAST(COALESCE(g.next_flush_at, 'infinity'::timestamp),
            GREATEST(EXCLUDED.updated_at, g.last_flush_at + EXCLUDED.group_interval_ms * interval '1 millisecond'))
        END`,
    [JSON.stringify(unique)],
  );
}

/**
 * Create the groups among `marks` that do not exist yet (due groupWait from their `atMs`); existing
 * ones are left alone. The alert leader calls it when it starts, for every firing alert: alerts
 * notified one by one before grouping, or routed to new groups by a changed `alerts.route`, get
 * their group (and so, later, their resolve). Fenced like every write of the alert leader.
 */
export async function ensureGroups(args: {
  pool: Pool;
  marks: GroupMark[];
  fence?: LeaseFence | null;
}): Promise<number> {
  if (args.marks.length === 0) return 0;
  const unique = [...new Map(args.marks.map((m) => [`${m.receiver}\u0000${m.groupKey}`, m])).values()];
  const client = await args.pool.connect();
  try {
    await client.query("BEGIN");
    if (args.fence) await assertLeaseHeld(client, args.fence);
    const { rowCount } = await client.query(
      `INSERT INTO notification_group (receiver, group_key, labels, group_wait_ms, group_interval_ms,
          repeat_interval_ms, next_flush_at, created_at, updated_at)
       SELECT x.receiver, x."groupKey", x.labels, x."groupWaitMs", x."groupIntervalMs", x."repeatIntervalMs",
          ${ts(`x."atMs" + x."groupWaitMs"`)}, ${ts(`x."atMs"`)}, ${ts(`x."atMs"`)}
       FROM jsonb_to_recordset($1::jsonb) AS x(receiver text, "groupKey" text, labels jsonb, "groupWaitMs" int8,
          "groupIntervalMs" int8, "repeatIntervalMs" int8, "atMs" float8)
       ON CONFLICT (receiver, group_key) DO NOTHING`,
      [JSON.stringify(unique)],
    );
    await client.query("COMMIT");
    return rowCount ?? 0;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Groups whose next flush is due at `nowMs`, soonest first. */
export async function listDueGroups(args: {
  pool: Pool;
  nowMs: number;
  limit?: number;
}): Promise<StoredGroup[]> {
  const { rows } = await args.pool.query<StoredGroup>(
    `SELECT ${GROUP_COLUMNS} FROM notification_group WHERE next_flush_at <= ${ts("$1::float8")}
     ORDER BY next_flush_at, receiver, group_key LIMIT $2`,
    [args.nowMs, args.limit ?? 500],
  );
  return rows;
}

/** Every group row (tests, API). */
export async function listGroups(args: { pool: Pool }): Promise<StoredGroup[]> {
  const { rows } = await args.pool.query<StoredGroup>(
    `SELECT ${GROUP_COLUMNS} FROM notification_group ORDER BY receiver, group_key`,
  );
  return rows;
}

/** The earliest scheduled group flush, or null. */
export async function nextGroupFlushMs(args: { pool: Pool }): Promise<number | null> {
  const { rows } = await args.pool.query<{ due: number | null }>(
    `SELECT ${ms("min(next_flush_at)")} AS due FROM notification_group`,
  );
  return rows[0]?.due ?? null;
}

/**
 * Flush one group in one transaction: fenced by the alert leader's lease and conditioned on the
 * group's `seq` as read, it queues the group's message (if any) and advances the group. False when
 * the group moved on meanwhile (another flush won): nothing is written. A deposed leader's flush
 * fails on the fence (LeaseLostError) and writes nothing.
 */
export async function flushGroup(args: {
  pool: Pool;
  fence?: LeaseFence | null;
  receiver: string;
  groupKey: string;
  /** The `seq` the decision was made on. */
  seq: number;
  notified: string[];
  lastFlushAtMs: number | null;
  nextFlushAtMs: number | null;
  atMs: number;
  notification: NewNotification | null;
}): Promise<boolean> {
  const client = await args.pool.connect();
  try {
    await client.query("BEGIN");
    if (args.fence) await assertLeaseHeld(client, args.fence);
    const { rowCount } = await client.query(
      `UPDATE notification_group SET seq = seq + 1, notified = $4::jsonb, last_flush_at = ${ts("$5::float8")},
          next_flush_at = ${ts("$6::float8")}, updated_at = ${ts("$7::float8")}
       WHERE receiver = $1 AND group_key = $2 AND seq = $3`,
      [
        args.receiver,
        args.groupKey,
        args.seq,
        JSON.stringify(args.notified),
        args.lastFlushAtMs,
        args.nextFlushAtMs,
        args.atMs,
      ],
    );
    if (!rowCount) {
      await client.query("ROLLBACK");
      return false;
    }
    const n = args.notification;
    if (n) {
      await client.query(
        `INSERT INTO notification_delivery (alert_id, notification_id, notifier, event, payload, state, attempt, ok,
            next_attempt_at, at, updated_at)
         VALUES ($1, $2, $3, $4, $5::jsonb, 'pending', 0, false, ${ts("$6::float8")}, ${ts("$6::float8")},
            ${ts("$6::float8")})
         ON CONFLICT (notification_id, notifier) DO NOTHING`,
        [n.alertId, n.notificationId, n.notifier, n.event, JSON.stringify(n.payload), n.createdAtMs],
      );
    }
    await client.query("COMMIT");
    return true;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Alerts by id (any state); missing ids are left out. */
export async function getAlerts(args: { pool: Pool; ids: string[] }): Promise<StoredAlert[]> {
  if (args.ids.length === 0) return [];
  const { rows } = await args.pool.query<StoredAlert>(
    `SELECT ${ALERT_COLUMNS} FROM alert WHERE id = ANY($1::text[]) ORDER BY id`,
    [args.ids],
  );
  return rows;
}

/**
 * Mark one claimed notification failed without an attempt (its payload can no longer be sent:
 * a per-alert message of the version before grouping, still pending at upgrade).
 */
export async function failNotification(args: {
  pool: Pool;
  id: number;
  error: string;
  atMs: number;
}): Promise<void> {
  await args.pool.query(
    `UPDATE notification_delivery SET state = 'failed', error = $2, updated_at = ${ts("$3::float8")} WHERE id = $1`,
    [args.id, args.error, args.atMs],
  );
}
