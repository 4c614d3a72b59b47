/**
 * Scenario — growth (issue 13, goal 3): is ingest flat while the detail tables grow? The same
 * recorded fleet is replayed into a collector on an empty database and on one that already stores
 * `storedTurns` turns with a ledger row each, within the retention window (the last 360 days, so
 * nothing is pruned), over 5,000 developers in 20 teams and 20 turns a thread. Run as empty,
 * stored, empty: the stored rate is judged against the mean of the two empty runs around it, so a
 * drift of the shared machine's load shows as the gap between the two empties.
 *
 * Stored ids are UUIDv7s of their turn's (a thread's: its first turn's) time, as the real
 * app-server's thread and turn ids are (packages/protocol/test/fixtures/real-0.169.0) and the
 * simulator's. Seeded set-based, `chunk` rows a statement in time order, then VACUUM ANALYZE as
 * autovacuum would have left it. The rollups are not seeded: their size follows developers × days
 * (scenario year), not stored turns.
 */

import { createDb, type DbPool } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { ingestIntoCollector } from "../lib/collector-ingest.ts";
import { load, round } from "../lib/machine.ts";
import { recordFleet } from "../lib/recorder.ts";

export interface GrowthOptions {
  servers: number;
  days: number;
  turnsPerDay: number;
  /** Turns (and ledger rows) already stored. */
  storedTurns: number;
  /** Rows a seeding statement (default 1,000,000). */
  chunk?: number;
  /**
   * A database already seeded with `storedTurns` (tools/bench/seed-growth.ts): the stored run uses
   * it instead of seeding (100 M turns take ≈ 45–65 min to seed) and leaves it in place. One run
   * only: the run's ingest stays in it (a second run is refused).
   */
  seededUrl?: string;
}

export interface GrowthRun {
  ms: number;
  turnsPerSecond: number;
  exact: boolean;
  load: number[];
}

export interface GrowthResult {
  turns: number;
  stored: {
    turns: number;
    threads: number;
    seedMs: number;
    /** Heap + indexes + TOAST of turn and usage_event, MB. */
    turnMB: number;
    usageEventMB: number;
  };
  empty: GrowthRun[];
  full: GrowthRun;
  /** Stored rate ÷ the mean of the empty runs. */
  ratio: number;
  load: number[];
}

const DAY_MS = 86_400_000;
const DEVELOPERS = 5_000;
const TURNS_PER_THREAD = 20;

/** A UUIDv7 of `ms` (a SQL expression, epoch milliseconds) whose random bits come from md5(`salt`). */
const uuidv7 = (ms: string, salt: string) => {
  const h = `lpad(to_hex((${ms})::bigint), 12, '0')`;
  const m = `md5(${salt})`;
  return `(substr(${h}, 1, 8) || '-' || substr(${h}, 9, 4) || '-7' || substr(${m}, 1, 3) || '-8' || substr(${m}, 4, 3) || '-' || substr(${m}, 7, 12))`;
};

/** `n` turns with a ledger row each, over the last 360 days, on DEVELOPERS developers. */
export async function seedStored(
  pool: DbPool,
  n: number,
  chunk: number,
): Promise<{ threads: number; seedMs: number }> {
  const t0 = performance.now();
  const threads = Math.ceil(n / TURNS_PER_THREAD);
  await pool.query(
    `INSERT INTO target (id, team, url)
     SELECT 'grown-' || d, 'team-' || (d % 20), 'ws://127.0.0.1:1' FROM generate_series(0, $1::int - 1) d`,
    [DEVELOPERS],
  );
  // Turn g belongs to thread g / TURNS_PER_THREAD; times rise with g over 360 days up to now.
  const base = Date.now() - 360 * DAY_MS;
  const msOf = (g: string) => `($3::float8 + (${g})::float8 * ${(360 * DAY_MS) / n})`;
  const at = `to_timestamp(${msOf("g")} / 1000.0) AT TIME ZONE 'UTC'`;
  const thread = `(g / ${TURNS_PER_THREAD})`;
  const threadId = (t: string) => uuidv7(msOf(`${t} * ${TURNS_PER_THREAD}`), `'th' || ${t}`);
  const turnId = uuidv7(msOf("g"), "'tu' || g");
  const stamp = (ms: string) => `to_timestamp(${ms} / 1000.0) AT TIME ZONE 'UTC'`;
  const firstAt = stamp(msOf(`t * ${TURNS_PER_THREAD}`));
  const lastAt = stamp(msOf(`t * ${TURNS_PER_THREAD} + ${TURNS_PER_THREAD - 1}`));
  const target = `'grown-' || (${thread} % ${DEVELOPERS})`;
  for (let from = 0; from < threads; from += chunk) {
    const to = Math.min(threads, from + chunk) - 1;
    await pool.query(
      // Each thread as its last turn left it: unloaded since, heard from last at that turn's time
      // (what decides whether a restarted collector holds it: threads-repository.ts isHeldThread).
      `INSERT INTO thread (id, target_id, status, status_since, last_event_at, created_at)
       SELECT ${threadId("t")}, 'grown-' || (t % ${DEVELOPERS}), 'notLoaded', ${lastAt}, ${lastAt}, ${firstAt}
       FROM generate_series($1::int, $2::int) t`,
      [from, to, base],
    );
  }
  for (let from = 0; from < n; from += chunk) {
    const to = Math.min(n, from + chunk) - 1;
    await pool.query(
      `INSERT INTO turn (id, thread_id, target_id, model, status, started_at, completed_at, duration_ms,
          input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd,
          price_version, end_counted)
       SELECT ${turnId}, ${threadId(thread)}, ${target}, 'gpt-5.4', 'completed', ${at},
          ${at} + interval '40 seconds', 40000, 12000, 9000, 800, 200, 12800, 0.0123, 'v', true
       FROM generate_series($1::int, $2::int) g`,
      [from, to, base],
    );
    await pool.query(
      `INSERT INTO usage_event (thread_id, turn_id, target_id, team, model, repo, at, input_tokens,
          cached_input_tokens, output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens,
          price_version, cumulative_total)
       SELECT ${threadId(thread)}, ${turnId}, ${target}, 'team-' || ((${thread} % ${DEVELOPERS}) % 20), 'gpt-5.4',
          'acme/app', ${at}, 12000, 9000, 800, 200, 12800, 0.0123, 0, 'v', 12800 * (g % ${TURNS_PER_THREAD} + 1)
       FROM generate_series($1::int, $2::int) g`,
      [from, to, base],
    );
    process.stderr.write(
      `growth: stored ${to + 1} of ${n} turns (${round((performance.now() - t0) / 1000)} s)\n`,
    );
  }
  await pool.query("VACUUM ANALYZE thread, turn, usage_event");
  return { threads, seedMs: performance.now() - t0 };
}

/** The seeded database's thread count, after checking that it holds `n` stored turns. */
async function storedAlready(
  pool: DbPool,
  n: number,
  rec: { servers: { name: string }[] },
): Promise<{ threads: number; seedMs: number }> {
  // A run ingests into it: a second run would find the first's totals and could not be judged.
  const used = await pool.query("SELECT 1 FROM usage_hourly WHERE target_id = ANY($1::text[]) LIMIT 1", [
    rec.servers.map((s) => s.name),
  ]);
  if (used.rows.length > 0)
    throw new Error("the seeded database already holds a run's ingest: it serves one run; seed it again");
  const { rows } = await pool.query<{ turns: string; threads: string }>(
    `SELECT (SELECT count(*) FROM turn WHERE target_id LIKE 'grown-%')::text AS turns,
            (SELECT count(*) FROM thread WHERE target_id LIKE 'grown-%')::text AS threads`,
  );
  const turns = Number(rows[0]?.turns);
  if (turns !== n) throw new Error(`the seeded database stores ${turns} turns, not ${n}`);
  return { threads: Number(rows[0]?.threads), seedMs: 0 };
}

const sizeMB = async (pool: DbPool, table: string) =>
  round(
    Number(
      (await pool.query<{ b: string }>("SELECT pg_total_relation_size($1::regclass)::text AS b", [table]))
        .rows[0]?.b,
    ) /
      2 ** 20,
  );

export async function runGrowth(opts: GrowthOptions): Promise<GrowthResult> {
  const rec = await recordFleet({
    servers: opts.servers,
    days: opts.days,
    turnsPerDay: opts.turnsPerDay,
    seed: "growth",
  });
  const tps = (ms: number) => round(rec.turns / (ms / 1000));
  const quietTargets = Array.from({ length: DEVELOPERS }, (_, d) => ({
    name: `grown-${d}`,
    team: `team-${d % 20}`,
    url: "ws://127.0.0.1:1",
    token: null,
  }));
  const once = async (storedTurns: number) => {
    // A database seeded beforehand (seed-growth.ts) is used as it is, and kept.
    const preseeded = storedTurns > 0 && opts.seededUrl ? opts.seededUrl : null;
    const testDb = preseeded
      ? { url: preseeded, drop: async () => {} }
      : await createTestDatabase({ fallbackToEmbedded: false });
    const db = createDb({ url: testDb.url, poolMax: 4 });
    try {
      const seeded =
        storedTurns === 0
          ? null
          : preseeded
            ? await storedAlready(db.pool, storedTurns, rec)
            : await seedStored(db.pool, storedTurns, opts.chunk ?? 1_000_000);
      const sizes = seeded
        ? { turnMB: await sizeMB(db.pool, "turn"), usageEventMB: await sizeMB(db.pool, "usage_event") }
        : null;
      // The collector follows the stored developers too (in every run, so only the stored rows
      // differ): a restart holds their working set (fleet.ts loadHeld), as it would in production.
      const run = await ingestIntoCollector({ rec, dbUrl: testDb.url, pool: db.pool, quietTargets });
      const result: GrowthRun = {
        ms: round(run.ms),
        turnsPerSecond: tps(run.ms),
        exact: run.exact,
        load: load(),
      };
      process.stderr.write(
        `growth: ${storedTurns} stored: ${result.turnsPerSecond} turns/s, exact ${run.exact}\n`,
      );
      return { result, seeded, sizes };
    } finally {
      await db.close();
      await testDb.drop();
    }
  };
  process.stderr.write(`growth: ${rec.turns} turns to ingest; ${opts.storedTurns} stored\n`);
  const before = await once(0);
  const stored = await once(opts.storedTurns);
  const after = await once(0);
  const empty = [before.result, after.result];
  const emptyTps = (before.result.turnsPerSecond + after.result.turnsPerSecond) / 2;
  return {
    turns: rec.turns,
    stored: {
      turns: opts.storedTurns,
      threads: stored.seeded?.threads ?? 0,
      seedMs: round(stored.seeded?.seedMs ?? 0),
      turnMB: stored.sizes?.turnMB ?? 0,
      usageEventMB: stored.sizes?.usageEventMB ?? 0,
    },
    empty,
    full: stored.result,
    ratio: round(stored.result.turnsPerSecond / emptyTps, 3),
    load: load(),
  };
}
