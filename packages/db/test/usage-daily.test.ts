import type { UsageGroupKey } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { queryUsage, usageWindow } from "../src/queries/usage.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const H = (day: number, hour: number, minute = 0) => Date.UTC(2026, 10, day, hour, minute);
const TARGETS = ["alice", "bob", "carol"];
const MODELS = ["gpt-5.4", "gpt-5.5"];

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  // Every 5th hour from Nov 18 to Nov 24, three targets, two models; then the same rows once more
  // through an upsert, so that the daily rollup is fed by inserts and by updates.
  const insert = `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, failed_turns, input_tokens,
      total_tokens, cost_usd)
    SELECT to_timestamp(h / 1000.0) AT TIME ZONE 'UTC', t, 'team-' || t, m, 'github.com/acme/' || t,
      1 + (h::int8 / 3600000) % 7, (h::int8 / 3600000) % 2, 100, 130, 0.0001234567
    FROM unnest($1::float8[]) AS h, unnest($2::text[]) AS t, unnest($3::text[]) AS m
    ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET turns = usage_hourly.turns + EXCLUDED.turns,
      total_tokens = usage_hourly.total_tokens + EXCLUDED.total_tokens, cost_usd = usage_hourly.cost_usd + EXCLUDED.cost_usd`;
  const hours: number[] = [];
  for (let at = H(18, 0); at < H(25, 0); at += 5 * 3_600_000) hours.push(at);
  await db.pool.query(insert, [hours, TARGETS, MODELS]);
  await db.pool.query(insert, [hours.filter((_, i) => i % 3 === 0), TARGETS, MODELS]);
}, 60_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

describe("usageWindow", () => {
  it.each([
    {
      name: "reads whole days from the daily rollup when the window is day-aligned",
      from: H(19, 0),
      to: H(22, 0),
      days: [H(19, 0), H(22, 0)],
    },
    {
      name: "keeps a partial first and last day for the hourly rollup",
      from: H(19, 5, 30),
      to: H(22, 13, 10),
      days: [H(20, 0), H(22, 0)],
    },
    {
      name: "counts a last day whose final hour starts before `to` as whole",
      from: H(19, 0),
      to: H(21, 23, 1),
      days: [H(19, 0), H(22, 0)],
    },
    { name: "reads no day when the window is shorter than one", from: H(19, 3), to: H(20, 2), days: null },
    { name: "reads no day when grouping by hour", from: H(19, 0), to: H(22, 0), days: null, byHour: true },
  ])("$name", ({ from, to, days, byHour }) => {
    const w = usageWindow(from, to, byHour ?? false);
    expect(w.days ? [w.days.firstDay, w.days.endDay] : null).toEqual(days);
  });
});

/** The same aggregate straight from usage_hourly: what the daily rollup must reproduce. */
async function fromHourly(fromMs: number, toMs: number, groupBy: UsageGroupKey[]) {
  const keySql: Record<string, string> = {
    day: `to_char(date_trunc('day', hour), 'YYYY-MM-DD"T"00:00:00"Z"')`,
    target: "target_id",
    model: "model",
    team: "team",
  };
  const keys = groupBy.map((k) => `${keySql[k]} AS "${k}"`).join(", ");
  const sums = `sum(turns)::float8 AS "turns", sum(failed_turns)::float8 AS "failedTurns",
    sum(total_tokens)::float8 AS "totalTokens", sum(cost_usd)::float8 AS "costUsd"`;
  const where = `hour >= date_trunc('hour', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC')
    AND hour < to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'`;
  const { rows } = await db.pool.query(
    `SELECT ${keys}, ${sums} FROM usage_hourly WHERE ${where} GROUP BY ${groupBy.map((_, i) => i + 1).join(", ")}
     ORDER BY ${groupBy.map((_, i) => i + 1).join(", ")}`,
    [fromMs, toMs],
  );
  return rows;
}

describe("queryUsage over the daily rollup", () => {
  it.each<{ name: string; from: number; to: number; groupBy: UsageGroupKey[] }>([
    {
      name: "matches the hourly sums by day when both ends are partial days",
      from: H(18, 7, 45),
      to: H(23, 14, 20),
      groupBy: ["day"],
    },
    {
      name: "matches the hourly sums by target and model over whole days",
      from: H(19, 0),
      to: H(24, 0),
      groupBy: ["target", "model"],
    },
    {
      name: "matches the hourly sums by day and team when only the last day is partial",
      from: H(18, 0),
      to: H(24, 9),
      groupBy: ["day", "team"],
    },
    {
      name: "matches the hourly sums by model when only the first day is partial",
      from: H(20, 16),
      to: H(25, 0),
      groupBy: ["model"],
    },
  ])("$name", async ({ from, to, groupBy }) => {
    const got = await queryUsage({ pool: db.pool, fromMs: from, toMs: to, groupBy, filters: {} });
    const want = await fromHourly(from, to, groupBy);
    const pick = (r: object) => pickRow(r as Record<string, unknown>);
    const pickRow = (r: Record<string, unknown>) => ({
      ...Object.fromEntries(groupBy.map((k) => [k, r[k]])),
      turns: r.turns,
      failedTurns: r.failedTurns,
      totalTokens: r.totalTokens,
      costUsd: Number((r.costUsd as number).toFixed(8)),
    });
    expect(got.rows.map(pick)).toEqual(want.map(pick));
    const sum = (k: string) => want.reduce((a, r) => a + (r[k] as number), 0);
    expect([got.totals.turns, got.totals.totalTokens]).toEqual([sum("turns"), sum("totalTokens")]);
  });

  it("empties the daily rollup when the hourly one is truncated", async () => {
    const other = await createTestDatabase();
    const odb = createDb({ url: other.url, poolMax: other.poolMax });
    try {
      await odb.pool.query(
        "INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns) VALUES ('2026-11-20 10:00', 'a', 't', 'm', 'r', 3)",
      );
      await odb.pool.query("TRUNCATE usage_hourly");
      const { rows } = await odb.pool.query("SELECT count(*)::int AS n FROM usage_daily");
      expect(rows[0]?.n).toBe(0);
    } finally {
      await odb.close();
      await other.drop();
    }
  });
});
