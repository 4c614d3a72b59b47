/**
 * queryActivity's statements are planned without a Parallel Append: a window's pieces are a
 * UNION ALL, which the planner otherwise runs as one even over tables with `parallel_workers = 0`,
 * each child a whole scan that the leader mostly runs itself while it waits for the workers to
 * start — 60–250 ms a request under load (BENCHMARKS.md, Activity, session 9). A plan's choice
 * depends on the data's size (a month of 1,000 developers in the bench), so this checks what the
 * planner is told: every statement runs on a connection where `enable_parallel_append` is off.
 */
import type { ActivityGroupKey } from "@codex-fleet/protocol/activity";
import type { Pool, PoolClient, QueryConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool, type DbPool } from "../src/pool.ts";
import { queryActivity } from "../src/queries/activity.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

const DAY_MS = 86_400_000;
/** Mid-afternoon: the window has a partial last day (today) besides whole days. */
const NOW = Date.UTC(2026, 10, 30, 15, 20);

let testDb: TestDatabase;
let pool: DbPool;

beforeAll(async () => {
  testDb = await createTestDatabase();
  pool = createPool({ url: testDb.url, poolMax: 2 });
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await testDb?.drop();
});

type Queryable = Pick<PoolClient, "query">;
const asConfig = (q: string | QueryConfig, values?: unknown[]): QueryConfig =>
  typeof q === "string" ? { text: q, values } : q;

/** A view of `pool` that records, for every SELECT, the setting on the connection that runs it. */
function recording(settings: { statement: string; parallelAppend: string }[]): Pool {
  const record = async (c: Queryable, q: QueryConfig) => {
    if (!/^\s*SELECT/i.test(q.text)) return;
    const { rows } = await c.query<{ v: string }>("SELECT current_setting('enable_parallel_append') AS v");
    settings.push({ statement: q.text, parallelAppend: rows[0]?.v ?? "" });
  };
  const wrap = (client: PoolClient): PoolClient =>
    new Proxy(client, {
      get(target, prop) {
        if (prop === "query")
          return async (q: string | QueryConfig, values?: unknown[]) => {
            await record(target, asConfig(q, values));
            return target.query(asConfig(q, values));
          };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === "connect") return async () => wrap(await target.connect());
      if (prop === "query")
        return async (q: string | QueryConfig, values?: unknown[]) => {
          const client = await target.connect();
          try {
            await record(client, asConfig(q, values));
            return await client.query(asConfig(q, values));
          } finally {
            client.release();
          }
        };
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("queryActivity's statements", () => {
  const shapes: ActivityGroupKey[][] = [[], ["day"], ["day", "team"], ["target"], ["model"], ["hour"]];
  it.each(shapes.map((s) => [s.join(",") || "totals", s] as const))(
    "%s: are planned without a Parallel Append, and leave the pool's connections as they were",
    async (_, groupBy) => {
      const settings: { statement: string; parallelAppend: string }[] = [];
      await queryActivity({
        pool: recording(settings),
        fromMs: NOW - 30 * DAY_MS,
        toMs: NOW,
        groupBy,
        filters: {},
        nowMs: NOW,
      });
      expect(settings.length).toBeGreaterThanOrEqual(2); // the sums and the peaks
      for (const s of settings) expect(s.parallelAppend, s.statement).toBe("off");
      // SET LOCAL: the setting ends with the statement's transaction.
      const after = await pool.query<{ v: string }>("SELECT current_setting('enable_parallel_append') AS v");
      expect(after.rows[0]?.v).toBe("on");
    },
  );
});
