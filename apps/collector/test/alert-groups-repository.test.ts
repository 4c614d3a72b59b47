/**
 * notification_group against a real, migrated Postgres (issue 16): the group marks computed by one
 * statement agree with the pure `nextFlushAfterChange`, and a flush is written exactly once —
 * conditioned on the group's seq, fenced by the alert lease — however many flushers race for it.
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import {
  flushGroup,
  type GroupMark,
  listDeliveries,
  listDueGroups,
  listGroups,
  nextGroupFlushMs,
  pruneAlertHistory,
  saveAlertChanges,
} from "@codex-fleet/db/repositories/alerts-repository";
import { acquireLeases, expireLeasesOf, LeaseLostError } from "@codex-fleet/db/repositories/lease-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { nextFlushAfterChange } from "../src/alerts/grouping/groups.ts";

let testDb: TestDatabase;
let db: Db;
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
const S = 1000;
const MIN = 60 * S;
const TIMINGS = { groupWaitMs: 30 * S, groupIntervalMs: 5 * MIN, repeatIntervalMs: 60 * MIN };

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.pool.query("TRUNCATE notification_group, notification_delivery, lease");
});

const mark = (atMs: number, patch: Partial<GroupMark> = {}): GroupMark => ({
  receiver: "hook",
  groupKey: "g1",
  labels: { ruleId: "system-error", team: "payments" },
  ...TIMINGS,
  atMs,
  ...patch,
});

async function markAt(atMs: number, patch: Partial<GroupMark> = {}) {
  await saveAlertChanges({
    pool: db.pool,
    upserts: [],
    deletes: [],
    notifications: [],
    groups: [mark(atMs, patch)],
  });
}

async function group() {
  const [g] = await listGroups({ pool: db.pool });
  if (!g) throw new Error("no group");
  return g;
}

async function flush(seq: number, atMs: number, patch: Partial<Parameters<typeof flushGroup>[0]> = {}) {
  return flushGroup({
    pool: db.pool,
    receiver: "hook",
    groupKey: "g1",
    seq,
    notified: ["a"],
    lastFlushAtMs: atMs,
    nextFlushAtMs: atMs + TIMINGS.repeatIntervalMs,
    atMs,
    notification: {
      alertId: "g1",
      notificationId: `hook:g1:${seq + 1}`,
      notifier: "hook",
      event: "firing",
      payload: { version: 2, id: `hook:g1:${seq + 1}` },
      createdAtMs: atMs,
    },
    ...patch,
  });
}

describe("group marks (one statement, as nextFlushAfterChange)", () => {
  it("does create a group due groupWait after its first alert, and keep that time as alerts join", async () => {
    await markAt(T0);
    await markAt(T0 + 20 * S);
    const g = await group();
    expect([g.nextFlushAtMs, g.seq, g.notified, g.lastFlushAtMs]).toEqual([T0 + 30 * S, 0, [], null]);
    expect(g.nextFlushAtMs).toBe(
      nextFlushAfterChange(
        { notified: [], lastFlushAtMs: null, nextFlushAtMs: T0 + 30 * S, timings: TIMINGS },
        T0 + 20 * S,
      ),
    );
    expect(await listDueGroups({ pool: db.pool, nowMs: T0 + 30 * S - 1 })).toEqual([]);
    expect((await listDueGroups({ pool: db.pool, nowMs: T0 + 30 * S })).map((x) => x.groupKey)).toEqual([
      "g1",
    ]);
    expect(await nextGroupFlushMs({ pool: db.pool })).toBe(T0 + 30 * S);
  });

  it.each<[string, number, number]>([
    [
      "does hold a change until groupInterval after the last message",
      T0 + 30 * S + MIN,
      T0 + 30 * S + 5 * MIN,
    ],
    [
      "does flush a change at once long after the last message",
      T0 + 30 * S + 20 * MIN,
      T0 + 30 * S + 20 * MIN,
    ],
  ])("%s", async (_name, changeAt, want) => {
    await markAt(T0);
    expect(await flush(0, T0 + 30 * S)).toBe(true);
    await markAt(changeAt);
    const g = await group();
    expect(g.nextFlushAtMs).toBe(want);
    expect(
      nextFlushAfterChange(
        {
          notified: ["a"],
          lastFlushAtMs: T0 + 30 * S,
          nextFlushAtMs: T0 + 30 * S + 60 * MIN,
          timings: TIMINGS,
        },
        changeAt,
      ),
    ).toBe(want);
  });

  it("does start a new episode with groupWait once the group ended", async () => {
    await markAt(T0);
    await flush(0, T0 + 30 * S, { notified: [], nextFlushAtMs: null });
    await markAt(T0 + 10 * MIN);
    expect((await group()).nextFlushAtMs).toBe(T0 + 10 * MIN + 30 * S);
  });
});

describe("flushGroup: exactly once", () => {
  it("does write a group's flush once when two flushers race on the same seq", async () => {
    await markAt(T0);
    const results = await Promise.all([flush(0, T0 + 30 * S), flush(0, T0 + 30 * S), flush(0, T0 + 31 * S)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await listDeliveries({ pool: db.pool })).map((d) => [d.notificationId, d.alertId])).toEqual([
      ["hook:g1:1", "g1"],
    ]);
    expect((await group()).seq).toBe(1);
    // A stale decision (made on seq 0) is refused after the group moved on.
    expect(await flush(0, T0 + 40 * S)).toBe(false);
    expect(await listDeliveries({ pool: db.pool })).toHaveLength(1);
  });

  it("does refuse a deposed leader's flush and write nothing", async () => {
    await markAt(T0);
    const [held] = await acquireLeases({
      pool: db.pool,
      holder: "a",
      holderName: "a",
      names: ["alerts"],
      ttlMs: 600_000,
    });
    const fence = { name: "alerts", holder: "a", token: held?.token ?? 0 };
    await expireLeasesOf({ pool: db.pool, holders: ["a"] });
    await acquireLeases({ pool: db.pool, holder: "b", holderName: "b", names: ["alerts"], ttlMs: 600_000 });
    await expect(flush(0, T0 + 30 * S, { fence })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await listDeliveries({ pool: db.pool })).toEqual([]);
    expect((await group()).seq).toBe(0);
  });

  it("does prune an ended group only once no message of it is stored", async () => {
    await markAt(T0);
    await flush(0, T0 + 30 * S, { notified: [], nextFlushAtMs: null });
    await db.pool.query("UPDATE notification_delivery SET state = 'delivered'");
    await db.pool.query(
      "UPDATE notification_group SET updated_at = to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC'",
      [T0],
    );
    // Its message is still stored (finished recently): the group stays.
    await db.pool.query(
      "UPDATE notification_delivery SET updated_at = to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC'",
      [T0 + 86_400_000],
    );
    await pruneAlertHistory({ pool: db.pool, beforeMs: T0 + MIN });
    expect(await listGroups({ pool: db.pool })).toHaveLength(1);
    await db.pool.query("DELETE FROM notification_delivery");
    await pruneAlertHistory({ pool: db.pool, beforeMs: T0 + MIN });
    expect(await listGroups({ pool: db.pool })).toEqual([]);
  });
});
