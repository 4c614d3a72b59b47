/**
 * Scenario year — a year of a large organization (issue 13 goal 2): `developers` developers x
 * `days` days of usage (about 100 M turns at 5,000 x 365) seeded set-based (seed-year.ts), served
 * by a collector process. Timed over HTTP, one request at a time: (a) the Usage page's three
 * requests over 30 days, (b) the same over the whole range, (c) day x target for 1,000
 * developers (four teams of 250) over 30 days, (d) the detail of a 2,000-turn thread. Every
 * answer's totals are checked against the seeded rows. (e) on a database of its own: a collector
 * that loads `liveTargets` targets and 10 threads each (seed-live-fleet.ts), timed from opening
 * `/api/v1/live` to its snapshot frame parsed (what the dashboard's live-socket.ts waits for).
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import WebSocket from "ws";
import { startBenchCollector } from "../lib/collector-proc.ts";
import { load, round } from "../lib/machine.ts";
import { seedLiveFleet } from "../lib/seed-live-fleet.ts";
import { seedYear, type YearSeed } from "../lib/seed-year.ts";
import { sleep, summarize } from "../lib/stats.ts";
import { type Shape, type ShapeTiming, timeShapes } from "../lib/time-shapes.ts";

export interface YearOptions {
  developers: number;
  days: number;
  turnsPerKeyDay: number;
  threadTurns: number;
  /** Timed requests per shape (after 3 warm-up requests). */
  requests: number;
  /** Figure e: targets the collector knows, threads each, timed connects (after 3 warm-up). */
  liveTargets: number;
  liveThreadsPerTarget: number;
  liveConnects: number;
}

const DAY_MS = 86_400_000;
/** Four teams of the twenty: a fifth of the developers (1,000 of 5,000). */
const FOUR_TEAMS = "team=team-00,team-01,team-02,team-03";

/** The Usage page's requests (UsagePage.tsx), for figures a and b. */
const PAGE: Shape[] = [
  // The chart's series, its top 7 by the metric, the rest folded per day (since session 13).
  {
    name: "series day×model (default stack), top 7",
    query: "groupBy=day,model&sort=tokens&top=7",
    page: true,
  },
  // The page asks for its top 100 spenders by its metric (tokens by default) since session 12.
  { name: "spenders target×team, top 100", query: "groupBy=target,team&sort=tokens&limit=100", page: true },
  { name: "models", query: "groupBy=model", page: true },
  // What the page's series asked before session 13 (every model's day, folded in the browser).
  {
    name: "series day×model, every row (before session 13; not a goal)",
    query: "groupBy=day,model",
    page: false,
  },
  // What the page asked before ("Show all" still does): every developer (not a goal).
  { name: "spenders target×team, every developer (not a goal)", query: "groupBy=target,team", page: false },
];
/**
 * Figure c: the chart stacked by developer for four teams, as the page asks it since session 13 (its
 * top 7 developers, the rest folded per day); then every row of the same (30,000 groups, the
 * first 10,000 sent: what the page asked before, not on the page now), and every developer (not a
 * goal: 150,000 groups).
 */
const DAY_TARGET: Shape[] = [
  {
    name: "day×target, 4 teams, top 7",
    query: `groupBy=day,target&${FOUR_TEAMS}&sort=tokens&top=7`,
    page: true,
  },
  {
    name: "day×target, 4 teams, every row (not on the page)",
    query: `groupBy=day,target&${FOUR_TEAMS}`,
    page: false,
  },
  { name: "day×target, every developer, top 7", query: "groupBy=day,target&sort=tokens&top=7", page: false },
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

/** e: open /api/v1/live → its snapshot frame parsed. */
export interface LiveSnapshotTiming {
  targets: number;
  threads: number;
  /** Threads the snapshot carries (capped: live/snapshot.ts) and its size. */
  snapshotThreads: number;
  snapshotBytes: number;
  connects: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  seedMs: number;
}

export interface YearResult extends YearTimings {
  live: LiveSnapshotTiming;
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

/** One connect: open the live feed, parse its first frame (the snapshot), close. */
async function connectOnce(
  baseUrl: string,
): Promise<{ ms: number; bytes: number; snap: Record<string, unknown> }> {
  const t0 = performance.now();
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/api/v1/live`, { maxPayload: 1 << 30 });
  try {
    return await new Promise((resolve, reject) => {
      ws.once("message", (data: Buffer) => {
        const snap = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
        resolve({ ms: performance.now() - t0, bytes: data.length, snap });
      });
      ws.once("error", reject);
      ws.once("close", (code) => reject(new Error(`live feed closed (${code}) before its snapshot`)));
    });
  } finally {
    ws.removeAllListeners("close");
    await new Promise<void>((r) => {
      if (ws.readyState === WebSocket.CLOSED) return r();
      ws.once("close", () => r());
      ws.close();
    });
  }
}

/** Figure e against a collector that loaded `targets` targets and `threads` threads. */
export async function timeLiveSnapshot(args: {
  baseUrl: string;
  targets: number;
  threads: number;
  connects: number;
}): Promise<Omit<LiveSnapshotTiming, "seedMs">> {
  const times: number[] = [];
  let bytes = 0;
  let carried = 0;
  for (let i = 0; i < args.connects + 3; i++) {
    const r = await connectOnce(args.baseUrl);
    const targets = r.snap.targets as unknown[] | undefined;
    const threads = r.snap.threads as unknown[] | undefined;
    if (
      r.snap.type !== "snapshot" ||
      targets?.length !== args.targets ||
      r.snap.threadsTotal !== args.threads
    )
      throw new Error(
        `live snapshot: ${r.snap.type}, ${targets?.length} targets, ${r.snap.threadsTotal} threads; seeded ${args.targets}, ${args.threads}`,
      );
    bytes = r.bytes;
    carried = threads?.length ?? 0;
    if (i >= 3) times.push(r.ms);
  }
  const s = summarize(times);
  return {
    targets: args.targets,
    threads: args.threads,
    snapshotThreads: carried,
    snapshotBytes: bytes,
    connects: args.connects,
    p50Ms: round(s.p50, 1),
    p95Ms: round(s.p95, 1),
    maxMs: round(s.max, 1),
  };
}

/** Figure e: its own database and collector. */
export async function runLiveSnapshot(opts: YearOptions): Promise<LiveSnapshotTiming> {
  const testDb = await createTestDatabase();
  const db = createDb({ url: testDb.url, poolMax: 2 });
  try {
    const seed = await seedLiveFleet({
      pool: db.pool,
      targets: opts.liveTargets,
      threadsPerTarget: opts.liveThreadsPerTarget,
      nowMs: Date.now(),
    });
    const collector = await startBenchCollector({
      dbUrl: testDb.url,
      targets: seed.targets,
      timeoutMs: 120_000,
    });
    try {
      // The first connect attempts (every target at once) settle into their backoff.
      await sleep(5_000);
      const t = await timeLiveSnapshot({
        baseUrl: collector.baseUrl,
        targets: seed.targets.length,
        threads: seed.threads,
        connects: opts.liveConnects,
      });
      return { ...t, seedMs: round(seed.ms) };
    } finally {
      await collector.stop();
    }
  } finally {
    await db.close();
    await testDb.drop();
  }
}

/** Seed, start a collector on the database, and time figures a-d; then figure e. */
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
        live: await runLiveSnapshot(opts),
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
