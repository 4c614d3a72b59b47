/**
 * Thread goals on the thread row (issue 11): written with the thread snapshot, read back by
 * loadThreads/readThread; a snapshot without a goal keeps the stored one, `goal: null` clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { writeIngestBatch } from "../src/repositories/ingest-repository.ts";
import type { GoalSnapshot, PriceFn, ThreadSnapshot } from "../src/repositories/ingest-types.ts";
import { loadThreads, readThread } from "../src/repositories/threads-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { threadSnapshot } from "./support/thread-snapshot.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  await db.pool.query("INSERT INTO target (id, team, url) VALUES ('goal-tgt', 'g', 'ws://127.0.0.1:1')");
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
const price: PriceFn = () => ({ costUsd: null, unpricedTokens: 0, priceVersion: "unpriced" });

let seq = 0;
function snapshot(over: Partial<ThreadSnapshot> = {}): ThreadSnapshot {
  return threadSnapshot(`goal-th-${seq}`, "goal-tgt", T0, over);
}

const GOAL: GoalSnapshot = {
  status: "budgetLimited",
  tokenBudget: 9_007_199_254_740_991,
  tokensUsed: 12_345,
  updatedAtMs: T0 - 5_000,
  statusSinceMs: T0 + 1_000,
};

const write = (threads: ThreadSnapshot[]) =>
  writeIngestBatch({ pool: db.pool, threads, turns: [], usage: [], price });
const stored = async (id: string) => (await readThread({ pool: db.pool, id }))?.goal;

describe("thread goals in the database", () => {
  it("round-trips a goal exactly (counts up to 2^53-1, times in ms)", async () => {
    seq++;
    const s = snapshot({ goal: GOAL });
    await write([s]);
    expect(await stored(s.id)).toEqual(GOAL);
    const loaded = (
      await loadThreads({ pool: db.pool, perTarget: 100, targetIds: [s.targetId], heldSinceMs: 0 })
    ).find((t) => t.id === s.id);
    expect(loaded?.goal).toEqual(GOAL);
  });

  it("keeps the stored goal when a snapshot does not know it, clears it on null", async () => {
    seq++;
    const s = snapshot({ goal: GOAL });
    await write([s]);
    const { goal: _unknown, ...withoutGoal } = s;
    await write([{ ...withoutGoal, status: "active", lastEventAtMs: T0 + 2 }]);
    expect(await stored(s.id)).toEqual(GOAL);
    await write([{ ...s, goal: null }]);
    expect(await stored(s.id)).toBeNull();
  });

  it("stores a goal without budget, figures unknown and an unknown status as sent", async () => {
    seq++;
    const goal: GoalSnapshot = {
      status: "unknown:waitingForReview",
      tokenBudget: null,
      tokensUsed: null,
      updatedAtMs: null,
      statusSinceMs: T0,
    };
    const s = snapshot({ goal });
    await write([s]);
    expect(await stored(s.id)).toEqual(goal);
  });

  it("keeps the last goal of a thread snapshotted twice in one batch", async () => {
    seq++;
    const s = snapshot({ goal: { ...GOAL, status: "active" } });
    await write([s, { ...s, goal: GOAL }]);
    expect(await stored(s.id)).toEqual(GOAL);
    await write([
      { ...s, goal: GOAL },
      { ...s, goal: null },
    ]);
    expect(await stored(s.id)).toBeNull();
  });

  it("reads a thread that never had a goal as goal null", async () => {
    seq++;
    const s = snapshot();
    await write([s]);
    expect(await stored(s.id)).toBeNull();
  });

  it("does not rewrite a thread row whose goal is already the one sent", async () => {
    // Counts every row the goal statement writes (an UPDATE naming goal_status fires it per row).
    await db.pool.query(`
      CREATE TABLE IF NOT EXISTS goal_writes (id text);
      CREATE OR REPLACE FUNCTION goal_written() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN INSERT INTO goal_writes VALUES (NEW.id); RETURN NULL; END $$;
      CREATE OR REPLACE TRIGGER goal_written AFTER UPDATE OF goal_status ON thread
        FOR EACH ROW EXECUTE FUNCTION goal_written();`);
    const writes = async (id: string) =>
      Number((await db.pool.query("SELECT count(*) AS n FROM goal_writes WHERE id = $1", [id])).rows[0].n);
    try {
      seq++;
      const none = snapshot({ goal: null });
      await write([none]);
      await write([{ ...none, lastEventAtMs: T0 + 1 }]);
      expect(await writes(none.id)).toBe(0);
      seq++;
      const s = snapshot({ goal: GOAL });
      await write([s]);
      await write([{ ...s, lastEventAtMs: T0 + 1 }]);
      expect(await writes(s.id)).toBe(1);
      await write([{ ...s, goal: { ...GOAL, tokensUsed: 12_346 } }]);
      await write([{ ...s, goal: null }]);
      expect(await writes(s.id)).toBe(3);
      expect(await stored(s.id)).toBeNull();
    } finally {
      await db.pool.query("DROP TRIGGER goal_written ON thread");
    }
  });
});
