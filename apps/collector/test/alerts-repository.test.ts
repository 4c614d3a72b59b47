/** packages/db alerts-repository against a real, migrated Postgres database. */
import { createDb, type Db } from "@codex-fleet/db/client";
import {
  acknowledgeAlert,
  claimDueNotifications,
  createSilence,
  expireSilence,
  getAlert,
  listAlerts,
  listDeliveries,
  listOpenAlerts,
  listRecentFailedTurns,
  listSilences,
  type NewNotification,
  nextNotificationDueMs,
  pruneAlertHistory,
  recordDeliveryAttempt,
  type StoredAlert,
  saveAlertChanges,
  spendByTarget,
} from "@codex-fleet/db/repositories/alerts-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

let testDb: TestDatabase;
let db: Db;
const T0 = Date.UTC(2026, 10, 21, 12, 0, 0, 123);
const MIN = 60_000;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.pool.query("TRUNCATE alert, silence, notification_delivery");
});

function alert(patch: Partial<StoredAlert> = {}): StoredAlert {
  return {
    id: "a1",
    ruleId: "approval-wait",
    kind: "waitingOnApproval",
    subjectType: "thread",
    subjectId: "th-1",
    groupKey: "",
    targetId: "alice",
    threadId: "th-1",
    team: "payments",
    severity: "warning",
    state: "firing",
    summary: "waiting",
    value: null,
    details: { reason: "x" },
    pendingSinceMs: T0 - 5 * MIN,
    firingSinceMs: T0,
    resolvedAtMs: null,
    lastNotifiedAtMs: T0,
    ackBy: null,
    ackRole: null,
    ackAtMs: null,
    silenced: false,
    openKey: '["approval-wait","thread","th-1",""]',
    updatedAtMs: T0,
    ...patch,
  };
}

const note = (alertId: string, event: string, notifier = "hook", atMs = T0): NewNotification => ({
  alertId,
  notificationId: `${alertId}:${event}:${atMs}`,
  notifier,
  event,
  payload: { id: `${alertId}:${event}:${atMs}`, event },
  createdAtMs: atMs,
});

describe("alerts", () => {
  it("does round-trip an alert with millisecond times", async () => {
    await saveAlertChanges({ pool: db.pool, upserts: [alert()], deletes: [], notifications: [] });
    expect(await getAlert({ pool: db.pool, id: "a1" })).toEqual(alert());
    expect(await listOpenAlerts({ pool: db.pool })).toEqual([alert()]);
  });

  it("does update in place and drop the open key once resolved", async () => {
    await saveAlertChanges({ pool: db.pool, upserts: [alert()], deletes: [], notifications: [] });
    const resolved = alert({
      state: "resolved",
      resolvedAtMs: T0 + MIN,
      openKey: null,
      ackBy: "ops",
      ackAtMs: T0 + 1,
    });
    await saveAlertChanges({ pool: db.pool, upserts: [resolved], deletes: [], notifications: [] });
    expect(await getAlert({ pool: db.pool, id: "a1" })).toEqual(resolved);
    expect(await listOpenAlerts({ pool: db.pool })).toEqual([]);
    // The identity is free again for a new episode.
    await saveAlertChanges({ pool: db.pool, upserts: [alert({ id: "a2" })], deletes: [], notifications: [] });
    expect((await listOpenAlerts({ pool: db.pool })).map((a) => a.id)).toEqual(["a2"]);
  });

  it("does refuse a second open alert with the same identity, storing nothing of that change", async () => {
    await saveAlertChanges({ pool: db.pool, upserts: [alert()], deletes: [], notifications: [] });
    await expect(
      saveAlertChanges({
        pool: db.pool,
        upserts: [alert({ id: "dup" })],
        deletes: [],
        notifications: [note("dup", "firing")],
      }),
    ).rejects.toThrow(/open_key/);
    expect(await listDeliveries({ pool: db.pool })).toEqual([]);
  });

  it("does delete dropped pending alerts but never a firing one", async () => {
    await saveAlertChanges({
      pool: db.pool,
      upserts: [alert({ id: "p", state: "pending", openKey: "k1" }), alert({ id: "f", openKey: "k2" })],
      deletes: [],
      notifications: [],
    });
    await saveAlertChanges({ pool: db.pool, upserts: [], deletes: ["p", "f"], notifications: [] });
    expect((await listOpenAlerts({ pool: db.pool })).map((a) => a.id)).toEqual(["f"]);
  });

  it.each<
    [string, Parameters<typeof listAlerts>[0] extends infer A ? Omit<A, "pool" | "limit"> : never, string[]]
  >([
    ["does list all, newest first", {}, ["c", "b", "a"]],
    ["does filter by state", { states: ["resolved"] }, ["c"]],
    ["does filter by rule", { ruleIds: ["r2"] }, ["b"]],
    ["does filter by target and team", { targets: ["alice"], teams: ["payments"] }, ["c", "a"]],
    ["does filter by thread", { threadId: "th-9" }, ["b"]],
    ["does filter by kind", { kinds: ["systemError"] }, ["c"]],
  ])("%s", async (_name, filter, want) => {
    await saveAlertChanges({
      pool: db.pool,
      upserts: [
        alert({ id: "a", openKey: "1", pendingSinceMs: T0 }),
        alert({
          id: "b",
          openKey: "2",
          ruleId: "r2",
          targetId: "bob",
          threadId: "th-9",
          team: "search",
          pendingSinceMs: T0 + 1,
        }),
        alert({ id: "c", openKey: null, state: "resolved", kind: "systemError", pendingSinceMs: T0 + 2 }),
      ],
      deletes: [],
      notifications: [],
    });
    expect((await listAlerts({ pool: db.pool, limit: 10, ...filter })).map((a) => a.id)).toEqual(want);
  });
});

describe("acknowledgement made on another instance (issue 12)", () => {
  it("does acknowledge only an open alert, in one conditioned statement", async () => {
    await saveAlertChanges({ pool: db.pool, upserts: [alert()], deletes: [], notifications: [] });
    const acked = await acknowledgeAlert({ pool: db.pool, id: "a1", by: "dana", atMs: T0 + MIN });
    expect(acked).toMatchObject({ id: "a1", state: "firing", ackBy: "dana", ackAtMs: T0 + MIN });
    expect(await acknowledgeAlert({ pool: db.pool, id: "nope", by: "dana", atMs: T0 })).toBeNull();
    await saveAlertChanges({
      pool: db.pool,
      upserts: [alert({ id: "a2", state: "resolved", resolvedAtMs: T0, openKey: null })],
      deletes: [],
      notifications: [],
    });
    expect(await acknowledgeAlert({ pool: db.pool, id: "a2", by: "dana", atMs: T0 })).toBeNull();
    expect((await getAlert({ pool: db.pool, id: "a2" }))?.ackBy).toBeNull();
  });

  it("does keep a stored ack when a leader that has not re-read it writes, and queue no repeat for it", async () => {
    await saveAlertChanges({ pool: db.pool, upserts: [alert()], deletes: [], notifications: [] });
    await acknowledgeAlert({ pool: db.pool, id: "a1", by: "dana", atMs: T0 + MIN });
    // The leader's stale record (no ack) owes a repeat; its resolution later is still notified.
    const later = T0 + 60 * MIN;
    await saveAlertChanges({
      pool: db.pool,
      upserts: [alert({ lastNotifiedAtMs: later, updatedAtMs: later })],
      deletes: [],
      notifications: [note("a1", "repeat", "hook", later)],
    });
    const stored = await getAlert({ pool: db.pool, id: "a1" });
    expect(stored).toMatchObject({ ackBy: "dana", ackAtMs: T0 + MIN, lastNotifiedAtMs: later });
    expect(await listDeliveries({ pool: db.pool, alertId: "a1" })).toEqual([]);
    // A newer ack (the leader's own) replaces it.
    await saveAlertChanges({
      pool: db.pool,
      upserts: [alert({ ackBy: "erin", ackAtMs: later })],
      deletes: [],
      notifications: [],
    });
    expect(await getAlert({ pool: db.pool, id: "a1" })).toMatchObject({ ackBy: "erin", ackAtMs: later });
    const end = later + MIN;
    await saveAlertChanges({
      pool: db.pool,
      upserts: [alert({ state: "resolved", resolvedAtMs: end, openKey: null, updatedAtMs: end })],
      deletes: [],
      notifications: [note("a1", "resolved", "hook", end)],
    });
    expect((await listDeliveries({ pool: db.pool, alertId: "a1" })).map((d) => d.event)).toEqual([
      "resolved",
    ]);
  });
});

describe("notification outbox", () => {
  async function queue(...notes: NewNotification[]) {
    await saveAlertChanges({ pool: db.pool, upserts: [], deletes: [], notifications: notes });
  }

  it("does queue a notification once per id and notifier", async () => {
    await queue(note("a1", "firing"), note("a1", "firing"), note("a1", "firing", "slack"));
    expect((await listDeliveries({ pool: db.pool })).map((d) => [d.notifier, d.event, d.state])).toEqual([
      ["hook", "firing", "pending"],
      ["slack", "firing", "pending"],
    ]);
  });

  it("does hold back a later notification of the same alert and notifier until the earlier one is done", async () => {
    await queue(note("a1", "firing"), note("a1", "resolved", "hook", T0 + 1), note("a2", "firing"));
    const first = await claimDueNotifications({
      pool: db.pool,
      nowMs: T0 + 10,
      leaseUntilMs: T0 + MIN,
      notifiers: ["hook"],
      limit: 10,
    });
    expect(first.map((c) => [c.alertId, c.event, c.attempt])).toEqual([
      ["a1", "firing", 0],
      ["a2", "firing", 0],
    ]);
    // Leased: nobody else gets them, and a1's resolve still waits.
    expect(
      await claimDueNotifications({
        pool: db.pool,
        nowMs: T0 + 20,
        leaseUntilMs: T0 + MIN,
        notifiers: ["hook"],
        limit: 10,
      }),
    ).toEqual([]);
    const firing = first[0];
    if (!firing) throw new Error("unreachable");
    await recordDeliveryAttempt({
      pool: db.pool,
      id: firing.id,
      attempt: { attempt: 1, atMs: T0 + 30, ok: true, status: 200, error: null, durationMs: 4 },
      outcome: "delivered",
      nextAttemptAtMs: T0 + MIN,
    });
    const next = await claimDueNotifications({
      pool: db.pool,
      nowMs: T0 + 40,
      leaseUntilMs: T0 + MIN,
      notifiers: ["hook"],
      limit: 10,
    });
    expect(next.map((c) => [c.alertId, c.event])).toEqual([["a1", "resolved"]]);
  });

  it("does log every attempt and give a lease back when released", async () => {
    await queue(note("a1", "firing"));
    const [claimed] = await claimDueNotifications({
      pool: db.pool,
      nowMs: T0,
      leaseUntilMs: T0 + MIN,
      notifiers: ["hook"],
      limit: 1,
    });
    if (!claimed) throw new Error("nothing claimed");
    await recordDeliveryAttempt({
      pool: db.pool,
      id: claimed.id,
      attempt: { attempt: 1, atMs: T0 + 1, ok: false, status: 503, error: "HTTP 503", durationMs: 3 },
      outcome: "pending",
      nextAttemptAtMs: T0 + MIN,
    });
    expect(await nextNotificationDueMs({ pool: db.pool, notifiers: ["hook"] })).toBe(T0 + MIN);
    await recordDeliveryAttempt({
      pool: db.pool,
      id: claimed.id,
      attempt: null,
      outcome: "pending",
      nextAttemptAtMs: T0 + 2,
    });
    const [again] = await claimDueNotifications({
      pool: db.pool,
      nowMs: T0 + 2,
      leaseUntilMs: T0 + MIN,
      notifiers: ["hook"],
      limit: 1,
    });
    expect(again?.attempt).toBe(1);
    await recordDeliveryAttempt({
      pool: db.pool,
      id: claimed.id,
      attempt: { attempt: 2, atMs: T0 + 5, ok: false, status: 400, error: "HTTP 400", durationMs: 2 },
      outcome: "failed",
      nextAttemptAtMs: T0 + MIN,
    });
    const [row] = await listDeliveries({ pool: db.pool, alertId: "a1" });
    expect(row).toMatchObject({
      state: "failed",
      attempt: 2,
      ok: false,
      status: 400,
      error: "HTTP 400",
      deliveredAtMs: null,
    });
    expect(row?.log).toEqual([
      { attempt: 1, atMs: T0 + 1, ok: false, status: 503, error: "HTTP 503", durationMs: 3 },
      { attempt: 2, atMs: T0 + 5, ok: false, status: 400, error: "HTTP 400", durationMs: 2 },
    ]);
    expect(await nextNotificationDueMs({ pool: db.pool, notifiers: ["hook"] })).toBeNull();
  });

  it("does claim only for the given notifiers", async () => {
    await queue(note("a1", "firing", "slack"));
    expect(
      await claimDueNotifications({
        pool: db.pool,
        nowMs: T0,
        leaseUntilMs: T0 + MIN,
        notifiers: ["hook"],
        limit: 5,
      }),
    ).toEqual([]);
  });
});

describe("silences", () => {
  it("does list active silences and expire one", async () => {
    const base = { matchers: { target: "alice" }, comment: "deploy", createdBy: "ops", createdAtMs: T0 };
    await createSilence({ pool: db.pool, silence: { id: "s1", ...base, endsAtMs: T0 + 60 * MIN } });
    await createSilence({ pool: db.pool, silence: { id: "s2", ...base, endsAtMs: T0 + 5 * MIN } });
    expect((await listSilences({ pool: db.pool, activeAtMs: T0 + 10 * MIN })).map((s) => s.id)).toEqual([
      "s1",
    ]);
    expect(await expireSilence({ pool: db.pool, id: "s1", atMs: T0 + 20 * MIN })).toMatchObject({
      id: "s1",
      endsAtMs: T0 + 20 * MIN,
      matchers: { target: "alice" },
    });
    // Expiring never extends one that already ended.
    expect((await expireSilence({ pool: db.pool, id: "s2", atMs: T0 + 20 * MIN }))?.endsAtMs).toBe(
      T0 + 5 * MIN,
    );
    expect(await listSilences({ pool: db.pool, activeAtMs: T0 + 21 * MIN })).toEqual([]);
    expect(await expireSilence({ pool: db.pool, id: "nope", atMs: T0 })).toBeNull();
  });
});

describe("inputs of the rules", () => {
  it("does sum today's spend per target and team from the hourly rollup", async () => {
    const day = Date.UTC(2026, 10, 21);
    await db.pool.query(
      `INSERT INTO usage_hourly (hour, target_id, team, model, repo, cost_usd) VALUES
        (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', 'spend-a', 'pay', 'm1', '', 10.5),
        (to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC', 'spend-a', 'pay', 'm2', 'r', 2.25),
        (to_timestamp($3 / 1000.0) AT TIME ZONE 'UTC', 'spend-a', 'pay', 'm1', '', 99),
        (to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', 'spend-b', 'search', 'm1', '', 1)`,
      [day + 3_600_000, day + 23 * 3_600_000, day - 3_600_000],
    );
    const rows = (await spendByTarget({ pool: db.pool, fromMs: day, toMs: day + 86_400_000 })).filter((r) =>
      r.targetId.startsWith("spend-"),
    );
    expect(rows).toEqual([
      { targetId: "spend-a", team: "pay", costUsd: 12.75 },
      { targetId: "spend-b", team: "search", costUsd: 1 },
    ]);
  });

  it("does list failed turns since a time", async () => {
    await db.pool.query(
      "INSERT INTO target (id, team, url) VALUES ('ft', 'core', 'ws://127.0.0.1:1') ON CONFLICT DO NOTHING",
    );
    await db.pool.query("INSERT INTO thread (id, target_id) VALUES ('ft-th', 'ft') ON CONFLICT DO NOTHING");
    await db.pool.query(
      `INSERT INTO turn (id, thread_id, target_id, status, codex_error_info, started_at, completed_at) VALUES
        ('ft-1', 'ft-th', 'ft', 'failed', 'internalServerError', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC'),
        ('ft-2', 'ft-th', 'ft', 'failed', NULL, to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC', NULL),
        ('ft-3', 'ft-th', 'ft', 'completed', NULL, to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC', to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'),
        ('ft-4', 'ft-th', 'ft', 'failed', 'other', to_timestamp($3 / 1000.0) AT TIME ZONE 'UTC', to_timestamp($3 / 1000.0) AT TIME ZONE 'UTC')
       ON CONFLICT DO NOTHING`,
      [T0, T0 + MIN, T0 - 60 * MIN],
    );
    expect(await listRecentFailedTurns({ pool: db.pool, sinceMs: T0 - 10 * MIN })).toEqual([
      { turnId: "ft-1", threadId: "ft-th", targetId: "ft", codexErrorInfo: "internalServerError", atMs: T0 },
      { turnId: "ft-2", threadId: "ft-th", targetId: "ft", codexErrorInfo: null, atMs: T0 + MIN },
    ]);
  });
});

describe("retention", () => {
  it("does prune old resolved alerts, finished deliveries and ended silences only", async () => {
    await saveAlertChanges({
      pool: db.pool,
      upserts: [
        alert({ id: "old", state: "resolved", openKey: null, resolvedAtMs: T0 - 100 * MIN }),
        alert({ id: "open", pendingSinceMs: T0 - 200 * MIN }),
      ],
      deletes: [],
      notifications: [
        note("old", "firing", "hook", T0 - 100 * MIN),
        note("open", "firing", "hook", T0 - 100 * MIN),
      ],
    });
    const [done] = await claimDueNotifications({
      pool: db.pool,
      nowMs: T0,
      leaseUntilMs: T0,
      notifiers: ["hook"],
      limit: 1,
    });
    if (!done) throw new Error("nothing claimed");
    await recordDeliveryAttempt({
      pool: db.pool,
      id: done.id,
      attempt: { attempt: 1, atMs: T0 - 99 * MIN, ok: true, status: 200, error: null, durationMs: 1 },
      outcome: "delivered",
      nextAttemptAtMs: T0 - 99 * MIN,
    });
    await createSilence({
      pool: db.pool,
      silence: {
        id: "s",
        matchers: { team: "x" },
        comment: "",
        createdBy: "o",
        createdAtMs: T0 - 300 * MIN,
        endsAtMs: T0 - 100 * MIN,
      },
    });
    expect(await pruneAlertHistory({ pool: db.pool, beforeMs: T0 - 50 * MIN })).toBe(3);
    expect((await listAlerts({ pool: db.pool, limit: 10 })).map((a) => a.id)).toEqual(["open"]);
    expect((await listDeliveries({ pool: db.pool })).map((d) => [d.alertId, d.state])).toEqual([
      ["open", "pending"],
    ]);
    expect(await listSilences({ pool: db.pool })).toEqual([]);
  });
});
