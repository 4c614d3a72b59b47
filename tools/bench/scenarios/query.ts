/**
 * Scenario 4 — query: GET /api/v1/usage over the dashboard's 30-day window with `turns` turns
 * across `developers` developers in the rollup, served by a collector process. Every shape the
 * Usage page asks for is timed over HTTP, one request at a time; seeding is timed separately.
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { startBenchCollector } from "../lib/collector-proc.ts";
import { load, round } from "../lib/machine.ts";
import { seedUsageHourly } from "../lib/seed-usage.ts";
import { type Shape, type ShapeTiming, timeShapes } from "../lib/time-shapes.ts";

export interface QueryOptions {
  developers: number;
  days: number;
  turns: number;
  /** Timed requests per shape (after 3 warm-up requests). */
  requests: number;
}

/** The Usage page's requests (UsagePage.tsx): the series by its stack, spenders, models; plus the rest. */
export const SHAPES: Shape[] = [
  {
    name: "series day×model (default stack), top 7",
    query: "groupBy=day,model&sort=tokens&top=7",
    page: true,
  },
  { name: "spenders target×team, top 100", query: "groupBy=target,team&sort=tokens&limit=100", page: true },
  { name: "models", query: "groupBy=model", page: true },
  { name: "spenders target×team, every developer", query: "groupBy=target,team", page: false },
  { name: "series day×team, top 7", query: "groupBy=day,team&sort=tokens&top=7", page: false },
  { name: "series day×repo, top 7", query: "groupBy=day,repo&sort=tokens&top=7", page: false },
  { name: "series day×target, top 7", query: "groupBy=day,target&sort=tokens&top=7", page: false },
  {
    name: "day×target, every row (a row per developer-day, first 10,000; not on the page)",
    query: "groupBy=day,target",
    page: false,
  },
  { name: "totals only", query: "", page: false },
  { name: "one team, day×model", query: "groupBy=day,model&team=team-03", page: false },
];

export interface QueryResult {
  developers: number;
  turns: number;
  rows: number;
  seedMs: number;
  shapes: ShapeTiming[];
  /** Over every request of the three the Usage page makes. */
  pageP95Ms: number;
  /** Over every request of every shape. */
  allP95Ms: number;
  load: number[];
}

/** Seed, start a collector on the database, and time every shape. */
export async function runQuery(opts: QueryOptions): Promise<QueryResult> {
  const testDb = await createTestDatabase();
  const db = createDb({ url: testDb.url, poolMax: 2 });
  try {
    const seed = await seedUsageHourly({
      pool: db.pool,
      developers: opts.developers,
      days: opts.days,
      turns: opts.turns,
      nowMs: Date.now(),
    });
    const collector = await startBenchCollector({ dbUrl: testDb.url, targets: [] });
    try {
      const window = `from=${new Date(seed.fromMs).toISOString()}&to=${new Date(seed.toMs).toISOString()}`;
      const timed = await timeShapes({
        url: `${collector.baseUrl}/api/v1/usage?${window}`,
        shapes: SHAPES,
        requests: opts.requests,
        check: (json, shape) => {
          const body = json as { rows?: unknown[]; totals?: { turns: number } };
          if (!shape.query.includes("team=") && body.totals?.turns !== seed.turns)
            throw new Error(`${shape.name}: totals.turns ${body.totals?.turns}, seeded ${seed.turns}`);
          return body.rows?.length ?? 0;
        },
      });
      return {
        developers: opts.developers,
        turns: seed.turns,
        rows: seed.rows,
        seedMs: round(seed.ms),
        ...timed,
        load: load(),
      };
    } finally {
      await collector.stop();
    }
  } finally {
    await db.close();
    await testDb.drop();
  }
}
