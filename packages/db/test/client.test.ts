import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
}, 30_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

describe("createDb pool types", () => {
  it.each([
    { type: "int8", sql: "SELECT 9007199254740991::int8 AS v", value: 9007199254740991 },
    {
      type: "SUM(int8), a numeric",
      sql: "SELECT sum(x) AS v FROM (VALUES (2::int8), (40::int8)) t(x)",
      value: 42,
    },
    { type: "numeric(20,10)", sql: "SELECT 12.3456789012::numeric(20,10) AS v", value: 12.3456789012 },
    { type: "count(*)", sql: "SELECT count(*) AS v FROM generate_series(1, 3)", value: 3 },
    { type: "int4", sql: "SELECT 7::int4 AS v", value: 7 },
  ])("returns a JS number when the column is $type", async ({ sql, value }) => {
    const { rows } = await db.pool.query(sql);
    expect(rows[0].v).toBe(value);
  });

  it.each([
    { type: "int8", sql: "SELECT 9007199254740993::int8 AS v" },
    { type: "integral numeric", sql: "SELECT 9007199254740993::numeric AS v" },
  ])("rejects the query when an $type exceeds 2^53", async ({ sql }) => {
    await expect(db.pool.query(sql)).rejects.toThrow(RangeError);
  });

  it("keeps BigInt and Decimal for Prisma's own reads", async () => {
    await db.prisma.target.create({ data: { id: "t-bigint", url: "ws://127.0.0.1:1" } });
    await db.prisma.thread.create({ data: { id: "th-bigint", targetId: "t-bigint", countedTotal: 5n } });

    const thread = await db.prisma.thread.findUniqueOrThrow({ where: { id: "th-bigint" } });
    const raw = await db.prisma.$queryRaw<{ v: bigint }[]>`SELECT 5::int8 AS v`;

    expect(thread.countedTotal).toBe(5n);
    expect(raw[0]?.v).toBe(5n);
  });

  it("writes and reads timestamp columns as UTC when the process time zone is not UTC", async () => {
    const previous = process.env.TZ;
    process.env.TZ = "America/New_York"; // Node re-reads TZ on assignment
    try {
      const at = new Date("2026-07-01T12:00:00.000Z");
      await db.pool.query(
        "INSERT INTO target (id, url, state_since) VALUES ('t-utc', 'ws://127.0.0.1:1', $1)",
        [at],
      );

      const viaPrisma = await db.prisma.target.findUniqueOrThrow({ where: { id: "t-utc" } });
      const { rows } = await db.pool.query(
        "SELECT state_since, to_char(state_since, 'HH24:MI') AS hm FROM target WHERE id = 't-utc'",
      );

      expect(viaPrisma.stateSince.toISOString()).toBe(at.toISOString());
      expect(rows[0].state_since.toISOString()).toBe(at.toISOString());
      expect(rows[0].hm).toBe("12:00");
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });
});
