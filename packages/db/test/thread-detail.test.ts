import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { listTurns, readThreadDetail, threadTotals } from "../src/repositories/threads-repository.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  const at = (min: string) => `to_timestamp((${T0} + ${min} * 60000.0) / 1000.0) AT TIME ZONE 'UTC'`;
  await db.pool.query(`INSERT INTO target (id, team, url) VALUES ('tgt', 'team', 'ws://127.0.0.1:1');
    INSERT INTO thread (id, target_id, status, counted_input_tokens, counted_total_tokens, created_at, updated_at)
      VALUES ('busy', 'tgt', 'idle', 700, 900, now(), now()), ('quiet', 'tgt', 'idle', 5, 6, now(), now());`);
  // 7 turns (one not started yet), the newest 5 listed; a ledger row per started turn.
  await db.pool.query(
    `INSERT INTO turn (id, thread_id, target_id, model, status, started_at, completed_at, input_tokens, total_tokens, cost_usd)
     SELECT 'turn-' || g, 'busy', 'tgt', 'm', 'completed', CASE WHEN g = 7 THEN NULL ELSE ${at("g")} END,
       CASE WHEN g = 7 THEN NULL ELSE ${at("g")} + interval '30 seconds' END, 100 * g, 120 * g, 0.25 * g
     FROM generate_series(1, 7) g`,
  );
  await db.pool.query(
    `INSERT INTO usage_event (thread_id, turn_id, target_id, team, model, repo, at, input_tokens, cached_input_tokens,
       output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, cumulative_total)
     SELECT 'busy', 'turn-' || g, 'tgt', 'team', 'm', '', ${at("g")}, 100 * g, 0, 20 * g, 0, 120 * g, 0.25 * g, g, 'v', 120 * g
     FROM generate_series(1, 6) g`,
  );
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

/** The pool, counting the statements sent through it (and the connections taken for a transaction). */
function counting(): { pool: Pool; statements: () => number } {
  let n = 0;
  const pool = {
    query: (...args: unknown[]) => {
      n++;
      return (db.pool.query as (...a: unknown[]) => unknown)(...args);
    },
    connect: () => {
      n += 100; // a transaction: BEGIN, its queries and COMMIT
      return db.pool.connect();
    },
  } as unknown as Pool;
  return { pool, statements: () => n };
}

describe("readThreadDetail", () => {
  it("answers the newest turns, oldest first, and the counted totals in one statement", async () => {
    const c = counting();
    const got = await readThreadDetail({ pool: c.pool, threadId: "busy", limit: 5 });
    expect(c.statements()).toBe(1);
    expect(got.turns).toEqual(await listTurns({ pool: db.pool, threadId: "busy", limit: 5 }));
    // The not-yet-started turn counts as the newest and is listed last.
    expect(got.turns.map((t) => t.id)).toEqual(["turn-3", "turn-4", "turn-5", "turn-6", "turn-7"]);
    expect(got.totals).toEqual(await threadTotals({ pool: db.pool, threadId: "busy" }));
    expect(got.totals).toMatchObject({
      inputTokens: 700,
      totalTokens: 900,
      costUsd: 5.25,
      unpricedTokens: 21,
    });
  });

  it("answers a thread without turns (totals, no turn) and a thread not stored (neither)", async () => {
    const quiet = await readThreadDetail({ pool: db.pool, threadId: "quiet" });
    expect(quiet).toEqual({
      turns: [],
      totals: {
        inputTokens: 5,
        cachedInputTokens: 0,
        outputTokens: 0,
        reasoningOutputTokens: 0,
        totalTokens: 6,
        costUsd: 0,
        unpricedTokens: 0,
      },
    });
    expect(await readThreadDetail({ pool: db.pool, threadId: "nowhere" })).toEqual({
      turns: [],
      totals: null,
    });
  });
});
