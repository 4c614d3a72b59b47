/** inTransaction: commits what fn did, rolls back and rethrows when it throws, and the pool stays usable. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { inTransaction } from "../src/transaction.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: 1 });
  await db.pool.query("CREATE TABLE t (v int)");
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

const values = async () =>
  (await db.pool.query<{ v: number }>("SELECT v FROM t ORDER BY v")).rows.map((r) => r.v);

describe("inTransaction", () => {
  it("commits and returns what fn returns", async () => {
    const out = await inTransaction(db.pool, "BEGIN", async (c) => {
      await c.query("INSERT INTO t VALUES (1)");
      return "done";
    });
    expect(out).toBe("done");
    expect(await values()).toEqual([1]);
  });

  it("rolls back and rethrows when fn throws, leaving the one connection usable", async () => {
    await expect(
      inTransaction(db.pool, "BEGIN", async (c) => {
        await c.query("INSERT INTO t VALUES (2)");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await values()).toEqual([1]);
  });

  it("scopes SET LOCAL to the transaction", async () => {
    const inside = await inTransaction(
      db.pool,
      "BEGIN READ ONLY; SET LOCAL enable_parallel_append = off",
      async (c) =>
        (await c.query<{ v: string }>("SELECT current_setting('enable_parallel_append') AS v")).rows[0]?.v,
    );
    expect(inside).toBe("off");
    expect(
      (await db.pool.query<{ v: string }>("SELECT current_setting('enable_parallel_append') AS v")).rows[0]
        ?.v,
    ).toBe("on");
  });
});
