import type { UsageGroupKey } from "@codex-fleet/protocol/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/client.ts";
import { queryUsage, spanBlocks, type UsageFilters, usageGrain } from "../src/queries/usage.ts";
import { foldUsage } from "../src/repositories/usage-fold.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

let testDb: TestDatabase;
let db: Db;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const D0 = Date.UTC(2026, 8, 1);
const TARGETS = ["alice", "bob", "carol", "dave", "erin", "frank"];
const MODELS = ["gpt-5.4", "gpt-5.5", "o4-mini"];

/** A small deterministic generator, so that a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1_664_525 + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const INSERT = `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, failed_turns, input_tokens,
    total_tokens, cost_usd, unpriced_tokens)
  SELECT to_timestamp(h / 1000.0) AT TIME ZONE 'UTC', t, 'team-' || (ascii(t) % 3), m, 'repo-' || (length(t) % 2),
    1 + (h::int8 / 3600000) % 7, (h::int8 / 3600000) % 2, 100, 130, 0.0001234567, CASE WHEN m = 'o4-mini' THEN 130 ELSE 0 END
  FROM unnest($1::float8[], $2::text[], $3::text[]) AS x (h, t, m)
  ON CONFLICT (hour, target_id, team, model, repo) DO UPDATE SET turns = usage_hourly.turns + EXCLUDED.turns,
    total_tokens = usage_hourly.total_tokens + EXCLUDED.total_tokens, cost_usd = usage_hourly.cost_usd + EXCLUDED.cost_usd`;

async function insertRandom(r: () => number, n: number): Promise<void> {
  const h: number[] = [];
  const t: string[] = [];
  const m: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const row = [
      D0 + Math.floor(r() * 70 * 24) * HOUR_MS,
      TARGETS[Math.floor(r() * TARGETS.length)] as string,
      MODELS[Math.floor(r() * MODELS.length)] as string,
    ] as const;
    if (seen.has(row.join())) continue; // one statement may not upsert a key twice
    seen.add(row.join());
    h.push(row[0]);
    t.push(row[1]);
    m.push(row[2]);
  }
  await db.pool.query(INSERT, [h, t, m]);
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDb({ url: testDb.url, poolMax: testDb.poolMax });
  const r = rng(13);
  // Folded: inserts, upserts of the same keys, an update moving rows to another team.
  await insertRandom(r, 3_000);
  await insertRandom(r, 3_000);
  // (An update moving rows to other keys is folded right too, but leaves usage_daily a row at 0
  // that its readers show as a group: no writer does that, so the comparison below has none.)
  await db.pool.query(
    "UPDATE usage_hourly SET cost_usd = cost_usd + 0.5 WHERE target_id = 'frank' AND hour < $1",
    [new Date(D0 + 20 * DAY_MS).toISOString()],
  );
  expect(await foldUsage(db.pool)).toBeGreaterThan(0);
  // Left pending: readers must add it.
  await insertRandom(r, 1_500);
  await db.pool.query(
    "UPDATE usage_hourly SET cost_usd = cost_usd * 2 WHERE model = 'o4-mini' AND turns > 5",
  );
}, 120_000);

afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

describe("usageGrain", () => {
  it.each<{ groupBy: UsageGroupKey[]; filters?: UsageFilters; grain: string }>([
    { groupBy: ["day", "model"], grain: "team" },
    { groupBy: ["model"], filters: { team: ["a"] }, grain: "team" },
    { groupBy: [], grain: "team" },
    { groupBy: ["target", "team"], grain: "span" },
    { groupBy: ["day", "target"], filters: { team: ["a"] }, grain: "span" },
    { groupBy: ["team"], filters: { target: ["a"] }, grain: "span" },
    { groupBy: ["day", "model"], filters: { target: ["a"] }, grain: "daily" },
    { groupBy: ["repo"], grain: "daily" },
    { groupBy: ["target", "model"], grain: "daily" },
  ])("reads $grain for $groupBy with $filters", ({ groupBy, filters, grain }) => {
    expect(usageGrain(groupBy, filters ?? {})).toBe(grain);
  });
});

describe("spanBlocks", () => {
  it("covers every window exactly once with aligned blocks, few of them", () => {
    const r = rng(7);
    for (let i = 0; i < 500; i++) {
      const first = D0 + Math.floor(r() * 600) * DAY_MS;
      const end = first + (1 + Math.floor(r() * 400)) * DAY_MS;
      const blocks = spanBlocks(first, end);
      let at = first;
      for (const b of blocks) {
        expect(b.startMs).toBe(at);
        expect((b.startMs / DAY_MS) % b.span).toBe(0);
        at += b.span * DAY_MS;
      }
      expect(at).toBe(end);
      // At most one block of each size on either side of the largest (which may repeat).
      expect(blocks.length).toBeLessThanOrEqual(2 * 8 + Math.ceil((end - first) / (256 * DAY_MS)));
    }
  });
});

/** The aggregate straight from usage_hourly: what every grain must reproduce. */
async function fromHourly(fromMs: number, toMs: number, groupBy: UsageGroupKey[], filters: UsageFilters) {
  const keySql: Record<string, string> = {
    day: `to_char(date_trunc('day', hour), 'YYYY-MM-DD"T"00:00:00"Z"')`,
    target: "target_id",
    model: "model",
    team: "team",
    repo: "repo",
  };
  const conds = [
    "hour >= date_trunc('hour', to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC')",
    "hour < to_timestamp($2 / 1000.0) AT TIME ZONE 'UTC'",
  ];
  const params: unknown[] = [fromMs, toMs];
  for (const [k, col] of [
    ["team", "team"],
    ["target", "target_id"],
    ["model", "model"],
  ] as const) {
    const v = filters[k];
    if (v) {
      params.push(v);
      conds.push(`${col} = ANY($${params.length})`);
    }
  }
  const keys = groupBy.map((k) => `${keySql[k]} AS "${k}", `).join("");
  const by = groupBy.length > 0 ? `GROUP BY ${groupBy.map((_, i) => i + 1).join(", ")}` : "";
  const order = groupBy.length > 0 ? `ORDER BY ${groupBy.map((_, i) => i + 1).join(", ")}` : "";
  const { rows } = await db.pool.query(
    `SELECT ${keys} sum(turns)::float8 AS "turns", sum(failed_turns)::float8 AS "failedTurns",
       sum(total_tokens)::float8 AS "totalTokens", sum(cost_usd)::float8 AS "costUsd",
       sum(unpriced_tokens)::float8 AS "unpricedTokens"
     FROM usage_hourly WHERE ${conds.join(" AND ")} ${by} ${order}`,
    params,
  );
  return rows as Record<string, unknown>[];
}

describe("queryUsage over the folded grains", () => {
  const GROUPINGS: UsageGroupKey[][] = [
    ["day", "model"],
    ["target", "team"],
    ["model"],
    ["day", "team"],
    ["day", "target"],
    ["day", "target", "team"],
    ["team"],
    ["target"],
    [],
    ["target", "model"],
    ["day", "repo"],
  ];
  const FILTERS: UsageFilters[] = [
    {},
    { team: ["team-1"] },
    { target: ["alice", "frank"] },
    { model: ["o4-mini"] },
  ];

  it("matches the hourly sums over random windows, groupings and filters, pending rows included", async () => {
    const { rows: pending } = await db.pool.query("SELECT count(*)::int AS n FROM usage_fold_pending");
    expect(pending[0]?.n).toBeGreaterThan(0);
    const r = rng(42);
    const pick = (groupBy: UsageGroupKey[]) => (row: Record<string, unknown>) => ({
      ...Object.fromEntries(groupBy.map((k) => [k, row[k]])),
      turns: row.turns,
      failedTurns: row.failedTurns,
      totalTokens: row.totalTokens,
      costUsd: Number((row.costUsd as number).toFixed(8)),
      unpricedTokens: row.unpricedTokens,
    });
    for (let i = 0; i < 88; i++) {
      const groupBy = GROUPINGS[i % GROUPINGS.length] as UsageGroupKey[];
      const filters = FILTERS[Math.floor(r() * FILTERS.length)] as UsageFilters;
      // Day-aligned or not at either end, 1 to 75 days long.
      const from =
        D0 - 3 * DAY_MS + (r() < 0.5 ? Math.floor(r() * 40) * DAY_MS : Math.floor(r() * 40 * 24) * HOUR_MS);
      const to = from + Math.floor((1 + r() * 75) * 24) * HOUR_MS + (r() < 0.5 ? 0 : 17 * 60_000);
      // Every third request keeps only the first rows (the totals stay those of every row).
      const limit = i % 3 === 0 ? 1 + Math.floor(r() * 40) : undefined;
      const got = await queryUsage({ pool: db.pool, fromMs: from, toMs: to, groupBy, filters, limit });
      const want = await fromHourly(from, to, groupBy, filters);
      const label = JSON.stringify({ groupBy, filters, limit, from: new Date(from), to: new Date(to) });
      if (groupBy.length > 0)
        expect(got.rows.map(pick(groupBy)), label).toEqual(
          want.slice(0, limit ?? want.length).map(pick(groupBy)),
        );
      const total = want.reduce<Record<string, number>>((a, row) => {
        for (const k of ["turns", "totalTokens", "unpricedTokens"])
          a[k] = (a[k] ?? 0) + ((row[k] as number) ?? 0);
        return a;
      }, {});
      expect([got.totals.turns, got.totals.totalTokens, got.totals.unpricedTokens], label).toEqual([
        total.turns ?? 0,
        total.totalTokens ?? 0,
        total.unpricedTokens ?? 0,
      ]);
    }
  }, 120_000);

  it("reads a window's last day from its day grain when nothing is stored after `to` that day, else from its hours", async () => {
    // A day of its own, past every other test's windows: usage at 03:00 and 09:00 only.
    const day = D0 + 200 * DAY_MS;
    await db.pool.query(INSERT, [
      [day + 3 * HOUR_MS, day + 3 * HOUR_MS, day + 9 * HOUR_MS],
      ["alice", "bob", "alice"],
      ["gpt-5.5", "o4-mini", "gpt-5.5"],
    ]);
    // `to` after 09:00 (nothing later that day: the day grain answers), and after 03:00 (09:00 is
    // stored: the hourly rows answer).
    const toAfter = day + 9 * HOUR_MS + 17 * 60_000;
    const toBefore = day + 3 * HOUR_MS + 17 * 60_000;
    const from = day - 12 * DAY_MS;
    for (const to of [toAfter, toBefore])
      for (const groupBy of GROUPINGS)
        for (const filters of FILTERS) {
          const got = await queryUsage({
            pool: db.pool,
            fromMs: from,
            toMs: to,
            groupBy,
            filters,
            hourlyKeptFromMs: day,
          });
          const want = await fromHourly(from, to, groupBy, filters);
          const label = JSON.stringify({ groupBy, filters, to: new Date(to) });
          const pick = (row: Record<string, unknown>) => ({
            ...Object.fromEntries(groupBy.map((k) => [k, row[k]])),
            turns: row.turns,
            totalTokens: row.totalTokens,
          });
          if (groupBy.length > 0) expect(got.rows.map(pick), label).toEqual(want.map(pick));
          expect(got.totals.turns, label).toBe(want.reduce((a, r) => a + (r.turns as number), 0));
        }
    // Ranked series (`top`: the ranking reads the sources again with its kept keys): the same
    // answer from the day grain as from the hours.
    for (const groupBy of [
      ["day", "target"],
      ["day", "model"],
      ["target"],
      ["team", "model"],
    ] as UsageGroupKey[][])
      for (const filters of FILTERS) {
        const args = {
          pool: db.pool,
          fromMs: from,
          toMs: toAfter,
          groupBy,
          filters,
          sort: "tokens",
          top: 1,
        } as const;
        expect(
          await queryUsage({ ...args, hourlyKeptFromMs: day }),
          JSON.stringify({ groupBy, filters }),
        ).toEqual(await queryUsage(args));
      }
    // Which rows answered: a row planted in that day's span-1 grain shows only through the first.
    await db.pool.query(
      `INSERT INTO usage_span_target (span, start_day, target_id, team, turns, n) VALUES (1, $1, 'planted', 't', 1000, 1)`,
      [new Date(day).toISOString()],
    );
    try {
      const planted = async (to: number, hourlyKeptFromMs: number | null = day) =>
        (
          await queryUsage({
            pool: db.pool,
            fromMs: from,
            toMs: to,
            groupBy: ["target", "team"],
            filters: {},
            ...(hourlyKeptFromMs === null ? {} : { hourlyKeptFromMs }),
          })
        ).rows.find((r) => r.target === "planted")?.turns ?? null;
      expect(await planted(toAfter)).toBe(1000);
      expect(await planted(toBefore)).toBeNull();
      // A day retention may have pruned (its hours gone: nothing "after to" then proves nothing),
      // or no retention horizon given: its hours answer, as before.
      expect(await planted(toAfter, day + 1)).toBeNull();
      expect(await planted(toAfter, null)).toBeNull();
    } finally {
      await db.pool.query("DELETE FROM usage_span_target WHERE target_id = 'planted'");
    }
  });

  it("folds everything pending and answers the same", async () => {
    const args = { pool: db.pool, fromMs: D0, toMs: D0 + 60 * DAY_MS, filters: {} };
    const before = await Promise.all(
      ([["day", "model"], ["target", "team"], ["day", "target"], []] as UsageGroupKey[][]).map((groupBy) =>
        queryUsage({ ...args, groupBy }),
      ),
    );
    await foldUsage(db.pool);
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM usage_fold_pending");
    expect(rows[0]?.n).toBe(0);
    const after = await Promise.all(
      ([["day", "model"], ["target", "team"], ["day", "target"], []] as UsageGroupKey[][]).map((groupBy) =>
        queryUsage({ ...args, groupBy }),
      ),
    );
    expect(after).toEqual(before);
  });

  // Each grain is what answers: a row planted in it (and nowhere else) shows in the answer.
  const block = spanBlocks(D0, D0 + 30 * DAY_MS).find((b) => b.span > 1) ?? { span: 0, startMs: 0 };
  it.each<{ grain: string; plant: string; groupBy: UsageGroupKey[] }>([
    {
      grain: "usage_daily_team",
      plant:
        "INSERT INTO usage_daily_team (day, team, model, turns, n) VALUES ('2026-09-10', 'planted', 'm', 1000, 1)",
      groupBy: ["day", "model"],
    },
    {
      grain: `usage_span_target (a ${block.span}-day block)`,
      plant: `INSERT INTO usage_span_target (span, start_day, target_id, team, turns, n)
        VALUES (${block.span}, '${new Date(block.startMs).toISOString()}', 'planted', 't', 1000, 1)`,
      groupBy: ["target", "team"],
    },
    {
      grain: "usage_span_target (span 1)",
      plant: `INSERT INTO usage_span_target (span, start_day, target_id, team, turns, n)
        VALUES (1, '2026-09-10', 'planted', 't', 1000, 1)`,
      groupBy: ["day", "target"],
    },
  ])("reads $grain for $groupBy", async ({ plant, groupBy }) => {
    const args = { pool: db.pool, fromMs: D0, toMs: D0 + 30 * DAY_MS, groupBy, filters: {} };
    const before = await queryUsage(args);
    await db.pool.query(plant);
    try {
      const after = await queryUsage(args);
      // A group of its own (with day×target, only the rows read the 1-day blocks; the totals come
      // from the per-team grain).
      expect(after.rows.length - before.rows.length).toBe(1);
      expect(
        after.rows.find((row) => !before.rows.some((b) => JSON.stringify(b) === JSON.stringify(row)))?.turns,
      ).toBe(1000);
    } finally {
      await db.pool.query("DELETE FROM usage_daily_team WHERE team = 'planted'");
      await db.pool.query("DELETE FROM usage_span_target WHERE target_id = 'planted'");
    }
  });
});
