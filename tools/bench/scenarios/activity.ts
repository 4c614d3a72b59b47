/**
 * Scenario 7 — activity (issue 15): GET /api/v1/activity over the dashboard's 30-day window with
 * `developers` developers' activity in the rollups (seed-activity.ts), served by a collector
 * process. The requests the Activity page makes, and a few more shapes, are timed over HTTP one at
 * a time; seeding is timed separately.
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { ActivityResponseSchema } from "@codex-fleet/protocol/activity";
import { startBenchCollector } from "../lib/collector-proc.ts";
import { load, round } from "../lib/machine.ts";
import { seedActivity } from "../lib/seed-activity.ts";
import { type Shape, type ShapeTiming, timeShapes } from "../lib/time-shapes.ts";

export interface ActivityOptions {
  developers: number;
  days: number;
  /** Timed requests per shape (after 3 warm-up requests). */
  requests: number;
}

/** The Activity page's requests (`page`), then other shapes an API user may ask for. */
export const ACTIVITY_SHAPES: Shape[] = [
  { name: "totals only", query: "", page: true },
  { name: "series day", query: "groupBy=day", page: true },
  { name: "series day×team", query: "groupBy=day,team", page: true },
  { name: "developers (target)", query: "groupBy=target", page: true },
  { name: "models", query: "groupBy=model", page: false },
  { name: "one team, day", query: "groupBy=day&team=team-03", page: false },
  { name: "one team's developers", query: "groupBy=target&team=team-03", page: false },
  { name: "series hour (720 rows)", query: "groupBy=hour", page: false },
];

export interface ActivityResult {
  developers: number;
  rows: number;
  peakRows: number;
  seedMs: number;
  shapes: ShapeTiming[];
  /** Over every request of those the Activity page makes. */
  pageP95Ms: number;
  /** Over every request of every shape. */
  allP95Ms: number;
  load: number[];
}

/** Seed, start a collector on the database, and time every shape. */
export async function runActivity(opts: ActivityOptions): Promise<ActivityResult> {
  const testDb = await createTestDatabase();
  const db = createDb({ url: testDb.url, poolMax: 2 });
  try {
    const seed = await seedActivity({
      pool: db.pool,
      developers: opts.developers,
      days: opts.days,
      nowMs: Date.now(),
    });
    const collector = await startBenchCollector({ dbUrl: testDb.url, targets: [] });
    try {
      const window = `from=${new Date(seed.fromMs).toISOString()}&to=${new Date(seed.toMs).toISOString()}`;
      const timed = await timeShapes({
        url: `${collector.baseUrl}/api/v1/activity?${window}`,
        shapes: ACTIVITY_SHAPES,
        requests: opts.requests,
        check: (json, shape, first) => {
          if (first) {
            // Checked once per shape, outside the timings: the answer is the documented one, whole.
            const body = ActivityResponseSchema.parse(json);
            if (!shape.query.includes("team=") && body.totals.turnsStarted !== seed.turnsStarted)
              throw new Error(
                `${shape.name}: totals.turnsStarted ${body.totals.turnsStarted}, seeded ${seed.turnsStarted}`,
              );
            if (body.totals.activeThreadsPeak === null || body.totals.timeToAnswerP90Ms === null)
              throw new Error(`${shape.name}: no peak or no time to answer in the totals`);
          }
          return (json as { rows: unknown[] }).rows.length;
        },
      });
      return {
        developers: opts.developers,
        rows: seed.rows,
        peakRows: seed.peakRows,
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
