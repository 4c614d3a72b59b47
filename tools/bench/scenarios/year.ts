/**
 * Scenario year — a year of a large organization (issue 13 goal 2): `developers` developers x
 * `days` days of usage (about 100 M turns at 5,000 x 365) seeded set-based (seed-year.ts), served
 * by a collector process. Timed over HTTP, one request at a time: (a) the Usage page's three
 * requests over 30 days, (b) the same over the whole range, (c) day x target for 1,000
 * developers (four teams of 250) over 30 days, (d) the detail of a 2,000-turn thread. Every
 * answer's totals are checked against the seeded rows.
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { startBenchCollector } from "../lib/collector-proc.ts";
import { load, round } from "../lib/machine.ts";
import { seedYear, type YearSeed } from "../lib/seed-year.ts";
import { summarize } from "../lib/stats.ts";
import { type Shape, type ShapeTiming, timeShapes } from "../lib/time-shapes.ts";

export interface YearOptions {
  developers: number;
  days: number;
  turnsPerKeyDay: number;
  threadTurns: number;
  /** Timed requests per shape (after 3 warm-up requests). */
  requests: number;
}

const DAY_MS = 86_400_000;
/** Four teams of the twenty: a fifth of the developers (1,000 of 5,000). */
const FOUR_TEAMS = "team=team-00,team-01,team-02,team-03";

/** The Usage page's requests (UsagePage.tsx), for figures a and b. */
const PAGE: Shape[] = [
  { name: "series day×model (default stack)", query: "groupBy=day,model", page: true },
  { name: "spenders target×team", query: "groupBy=target,team", page: true },
  { name: "models", query: "groupBy=model", page: true },
];
/** Figure c, plus the same over every developer (not a goal: 150,000 rows, the first 10,000 sent). */
const DAY_TARGET: Shape[] = [
  { name: "day×target, 4 teams", query: `groupBy=day,target&${FOUR_TEAMS}`, page: true },
  { name: "day×target, every developer (not a goal)", query: "groupBy=day,target", page: false },
];

export interface YearTimings {
  /** a: the page's requests over 30 days. */
  month: { shapes: ShapeTiming[]; pageP95Ms: number };
  /** b: the page's requests over every seeded day. */
  year: { shapes: ShapeTiming[]; pageP95Ms: number };
  /** c: day×target for four teams over 30 days (and every developer, not a goal). */
  dayTarget: { shapes: ShapeTiming[]; pageP95Ms: number };
  /** d: GET /api/v1/threads/:id of the long thread. */
  thread: { turns: number; p50Ms: number; p95Ms: number; maxMs: number };
}

export interface YearResult extends YearTimings {
  developers: number;
  days: number;
  turns: number;
  dailyRows: number;
  seedMs: number;
  load: number[];
}

/** What the seeded rows hold for a window, to check every answer's totals against. */
async function expectedTurns(
  pool: import("pg").Pool,
  fromMs: number,
  teams: string[] | null,
): Promise<number> {
  const { rows } = await pool.query<{ t: number }>(
    `SELECT COALESCE(sum(turns), 0)::float8 AS t FROM usage_daily
     WHERE day >= to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC' AND ($2::text[] IS NULL OR team = ANY($2))`,
    [fromMs, teams],
  );
  return Number(rows[0]?.t ?? 0);
}

/** Time figures a-d against a collector at `baseUrl` on a database seeded by seedYear. */
export async function timeYear(args: {
  baseUrl: string;
  pool: import("pg").Pool;
  seed: Pick<YearSeed, "fromMs" | "toMs" | "threadId">;
  threadTurns: number;
  requests: number;
}): Promise<YearTimings> {
  const { baseUrl, pool, seed, requests } = args;
  const monthFrom = Math.floor(seed.toMs / DAY_MS) * DAY_MS - 29 * DAY_MS;
  const to = new Date(seed.toMs).toISOString();
  const teams = FOUR_TEAMS.slice("team=".length).split(",");
  const timed = async (fromMs: number, shapes: Shape[]) => {
    const all = await expectedTurns(pool, fromMs, null);
    const some = await expectedTurns(pool, fromMs, teams);
    const r = await timeShapes({
      url: `${baseUrl}/api/v1/usage?from=${new Date(fromMs).toISOString()}&to=${to}`,
      shapes,
      requests,
      check: (json, shape) => {
        const body = json as { rows?: unknown[]; totals?: { turns: number } };
        const want = shape.query.includes("team=") ? some : all;
        if (body.totals?.turns !== want)
          throw new Error(`${shape.name}: totals.turns ${body.totals?.turns}, seeded ${want}`);
        return body.rows?.length ?? 0;
      },
    });
    return { shapes: r.shapes, pageP95Ms: r.pageP95Ms };
  };
  const month = await timed(monthFrom, PAGE);
  const year = await timed(seed.fromMs, PAGE);
  const dayTarget = await timed(monthFrom, DAY_TARGET);
  const times: number[] = [];
  for (let i = 0; i < requests + 3; i++) {
    const t0 = performance.now();
    const res = await fetch(`${baseUrl}/api/v1/threads/${seed.threadId}`);
    const body = (await res.json()) as { turns?: unknown[] };
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`thread detail → ${res.status} ${JSON.stringify(body)}`);
    // The detail carries the thread's latest 500 turns (threads-repository.ts listTurns).
    if (body.turns?.length !== Math.min(args.threadTurns, 500))
      throw new Error(`thread detail: ${body.turns?.length} turns of the ${args.threadTurns} seeded`);
    if (i >= 3) times.push(ms);
  }
  const s = summarize(times);
  return {
    month,
    year,
    dayTarget,
    thread: {
      turns: args.threadTurns,
      p50Ms: round(s.p50, 1),
      p95Ms: round(s.p95, 1),
      maxMs: round(s.max, 1),
    },
  };
}

/** Seed, start a collector on the database, and time figures a-d. */
export async function runYear(opts: YearOptions): Promise<YearResult> {
  const testDb = await createTestDatabase();
  const db = createDb({ url: testDb.url, poolMax: 2 });
  try {
    const seed = await seedYear({
      pool: db.pool,
      developers: opts.developers,
      days: opts.days,
      turnsPerKeyDay: opts.turnsPerKeyDay,
      threadTurns: opts.threadTurns,
      nowMs: Date.now(),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const collector = await startBenchCollector({ dbUrl: testDb.url, targets: [] });
    try {
      const timed = await timeYear({
        baseUrl: collector.baseUrl,
        pool: db.pool,
        seed,
        threadTurns: opts.threadTurns,
        requests: opts.requests,
      });
      return {
        developers: opts.developers,
        days: opts.days,
        turns: seed.turns,
        dailyRows: seed.dailyRows,
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
