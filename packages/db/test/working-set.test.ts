/**
 * The working set (issue 13): loadThreads (SQL, at start) and isHeldThread (memory, the fleet's
 * sweep) are one rule in two spellings. Every combination of what decides it is stored, loaded with
 * a cutoff, and compared with the rule applied to the same rows read back one by one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { isHeldThread, loadThreads, readThread } from "../src/repositories/threads-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await db.pool.query(
    "INSERT INTO target (id, team, url) VALUES ('ws-a', 't', 'ws://127.0.0.1:1'), ('ws-b', 't', 'ws://127.0.0.1:1')",
  );
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const CUTOFF = Date.UTC(2026, 11, 1);
const HOUR = 3_600_000;
const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("the working set", () => {
  it("loads exactly the threads isHeldThread holds: owed, loaded, or heard from since the cutoff", async () => {
    // Times around the cutoff, including exactly on it; null: never heard from.
    const times = [null, CUTOFF - 30 * 24 * HOUR, CUTOFF - 1, CUTOFF, CUTOFF + HOUR];
    const statuses = ["notLoaded", "idle", "active", "systemError", "unknown:paused"];
    const ids: string[] = [];
    let n = 0;
    for (const status of statuses)
      for (const lastEvent of times)
        for (const statusSince of [CUTOFF - 2 * HOUR, CUTOFF + 2 * HOUR])
          for (const owed of [false, true]) {
            const id = `ws-${n++}`;
            ids.push(id);
            await db.pool.query(
              `INSERT INTO thread (id, target_id, status, status_since, last_event_at, owed_since, owed_at, owed_reason)
               VALUES ($1, $2, $3, $4::timestamptz AT TIME ZONE 'UTC', $5::timestamptz AT TIME ZONE 'UTC',
                       $6::timestamptz AT TIME ZONE 'UTC', $6::timestamptz AT TIME ZONE 'UTC', $7)`,
              [
                id,
                n % 2 ? "ws-a" : "ws-b",
                status,
                at(statusSince),
                at(lastEvent),
                owed ? at(CUTOFF - 99 * HOUR) : null,
                owed ? "loadedAtContact" : null,
              ],
            );
          }
    const loaded = await loadThreads({
      pool: db.pool,
      perTarget: 10_000,
      targetIds: ["ws-a", "ws-b"],
      heldSinceMs: CUTOFF,
    });
    const stored = await Promise.all(ids.map((id) => readThread({ pool: db.pool, id })));
    const expected = stored.filter((t) => t !== null && isHeldThread(t, CUTOFF)).map((t) => t?.id);
    expect(loaded.map((t) => t.id).sort()).toEqual(expected.sort());
    // Not vacuous: both sides of the rule occur.
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(ids.length);
    // Only the targets asked for.
    const onlyA = await loadThreads({
      pool: db.pool,
      perTarget: 10_000,
      targetIds: ["ws-a"],
      heldSinceMs: CUTOFF,
    });
    expect(onlyA.every((t) => t.targetId === "ws-a")).toBe(true);
    expect(onlyA.length).toBe(loaded.filter((t) => t.targetId === "ws-a").length);
    expect(
      await loadThreads({ pool: db.pool, perTarget: 10_000, targetIds: [], heldSinceMs: CUTOFF }),
    ).toEqual([]);
    // Without a list: the targets still enabled or paused (a deleted one's threads are history).
    await db.pool.query("UPDATE target SET enabled = false WHERE id = 'ws-b'");
    const enabled = await loadThreads({ pool: db.pool, perTarget: 10_000, heldSinceMs: CUTOFF });
    expect(enabled.map((t) => t.id).sort()).toEqual(onlyA.map((t) => t.id).sort());
    await db.pool.query("UPDATE target SET paused = true WHERE id = 'ws-b'");
    const withPaused = await loadThreads({ pool: db.pool, perTarget: 10_000, heldSinceMs: CUTOFF });
    expect(withPaused.map((t) => t.id).sort()).toEqual(loaded.map((t) => t.id).sort());
  });

  it("a notLoaded thread last heard from before the cutoff is history; on or after it, held", () => {
    const t: Parameters<typeof isHeldThread>[0] = {
      owedSinceMs: null,
      status: "notLoaded",
      lastEventAtMs: CUTOFF - 1,
      statusSinceMs: CUTOFF + 5,
    };
    expect(isHeldThread(t, CUTOFF)).toBe(false);
    expect(isHeldThread({ ...t, lastEventAtMs: CUTOFF }, CUTOFF)).toBe(true);
    // Never heard from: its status time decides.
    expect(isHeldThread({ ...t, lastEventAtMs: null }, CUTOFF)).toBe(true);
    expect(isHeldThread({ ...t, lastEventAtMs: null, statusSinceMs: CUTOFF - 1 }, CUTOFF)).toBe(false);
    expect(isHeldThread({ ...t, status: "idle" }, CUTOFF)).toBe(true);
    expect(isHeldThread({ ...t, owedSinceMs: 1 }, CUTOFF)).toBe(true);
  });
});
