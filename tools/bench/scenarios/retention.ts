/**
 * Scenario — retention (issue 13, goal 4): does pruning hold up ingest? Two fresh databases get
 * the same old history (ledger rows and turns 500 days old, hourly rollups of that time), set-
 * based; the same recorded fleet is then replayed into a collector on each — once alone, once
 * while the collector's retention job (apps/collector/src/retention.ts, default batches and
 * pauses, `detailDays`/`hourlyDays` 400) prunes that history. Ingest rates from the same run,
 * totals exact in both; the prune's duration says how much of the ingest it overlapped.
 */

import { RetentionJob } from "@codex-fleet/collector/retention";
import { createDb, type DbPool } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { ingestIntoCollector } from "../lib/collector-ingest.ts";
import { load, round } from "../lib/machine.ts";
import { recordFleet } from "../lib/recorder.ts";

export interface RetentionBenchOptions {
  servers: number;
  days: number;
  turnsPerDay: number;
  /** Old ledger rows and old turns each (the hourly rollups get one row per old hour and developer). */
  oldRows: number;
}

export interface RetentionBenchResult {
  turns: number;
  oldRows: { usageEvent: number; turn: number; usageHourly: number };
  alone: { ms: number; turnsPerSecond: number; exact: boolean };
  duringPrune: { ms: number; turnsPerSecond: number; exact: boolean };
  prune: { ms: number; deleted: Record<string, number> };
  /** Ingest rate while pruning ÷ alone. */
  ratio: number;
  /** Share of the pruned ingest's duration the prune was running. */
  overlap: number;
  load: number[];
}

const DAY_MS = 86_400_000;

/** Old history, 500 days back: `n` ledger rows and turns over 100 threads of 10 old developers. */
async function seedOld(pool: DbPool, n: number): Promise<{ usageHourly: number }> {
  const base = Date.now() - 500 * DAY_MS;
  await pool.query(
    "INSERT INTO target (id, team, url) SELECT 'old-' || i, 'old', 'ws://127.0.0.1:1' FROM generate_series(0, 9) i",
  );
  await pool.query(
    "INSERT INTO thread (id, target_id) SELECT 'old-th-' || i, 'old-' || (i % 10) FROM generate_series(0, 99) i",
  );
  // Spread over 30 days of that time, in time order like the real ingest writes them.
  const at = `to_timestamp(($2 + g::float8 * ${(30 * DAY_MS) / n}) / 1000.0) AT TIME ZONE 'UTC'`;
  await pool.query(
    `INSERT INTO usage_event (thread_id, target_id, team, model, repo, at, input_tokens, cached_input_tokens,
        output_tokens, reasoning_output_tokens, total_tokens, cost_usd, unpriced_tokens, price_version, cumulative_total)
     SELECT 'old-th-' || (g % 100), 'old-' || (g % 10), 'old', 'gpt-5.4', '', ${at}, 500, 100, 20, 5, 520, 0.001, 0, 'v', g
     FROM generate_series(1, $1::int) g`,
    [n, base],
  );
  await pool.query(
    `INSERT INTO turn (id, thread_id, target_id, status, started_at, completed_at, total_tokens)
     SELECT 'old-tu-' || g, 'old-th-' || (g % 100), 'old-' || (g % 10), 'completed', ${at}, ${at}, 520
     FROM generate_series(1, $1::int) g`,
    [n, base],
  );
  const { rowCount } = await pool.query(
    `INSERT INTO usage_hourly (hour, target_id, team, model, repo, turns, total_tokens)
     SELECT date_trunc('hour', to_timestamp(($1 + h * 3600000.0) / 1000.0) AT TIME ZONE 'UTC'), 'old-' || d, 'old',
        'gpt-5.4', '', 10, 5200
     FROM generate_series(0, 30 * 24 - 1) h, generate_series(0, 9) d`,
    [base],
  );
  await pool.query("ANALYZE");
  return { usageHourly: rowCount ?? 0 };
}

export async function runRetention(opts: RetentionBenchOptions): Promise<RetentionBenchResult> {
  const rec = await recordFleet({
    servers: opts.servers,
    days: opts.days,
    turnsPerDay: opts.turnsPerDay,
    seed: "retention",
  });
  const tps = (ms: number) => round(rec.turns / (ms / 1000));
  const once = async (prune: boolean) => {
    const testDb = await createTestDatabase({ fallbackToEmbedded: false });
    const db = createDb({ url: testDb.url, poolMax: 4 });
    try {
      const seeded = await seedOld(db.pool, opts.oldRows);
      const job = new RetentionJob({
        pool: db.pool,
        retention: { detailDays: 400, hourlyDays: 400, threadMemoryDays: 7, pruneIntervalMs: 3_600_000 },
        log: { info: () => {}, debug: () => {}, warn: () => {} },
      });
      const run = await ingestIntoCollector({
        rec,
        dbUrl: testDb.url,
        pool: db.pool,
        ...(prune ? { whileStreaming: () => job.runOnce() } : {}),
      });
      if (prune && !run.during) throw new Error("the prune did not run (lock held?)");
      return { run, seeded, report: run.during ?? null };
    } finally {
      await db.close();
      await testDb.drop();
    }
  };
  process.stderr.write(`retention: ${rec.turns} turns; ${opts.oldRows} old rows per detail table\n`);
  const alone = await once(false);
  const during = await once(true);
  const pruneMs = during.report?.ms ?? 0;
  return {
    turns: rec.turns,
    oldRows: { usageEvent: opts.oldRows, turn: opts.oldRows, usageHourly: alone.seeded.usageHourly },
    alone: { ms: round(alone.run.ms), turnsPerSecond: tps(alone.run.ms), exact: alone.run.exact },
    duringPrune: { ms: round(during.run.ms), turnsPerSecond: tps(during.run.ms), exact: during.run.exact },
    prune: { ms: pruneMs, deleted: during.report?.deleted ?? {} },
    ratio: round(alone.run.ms / during.run.ms, 3),
    overlap: round(Math.min(1, pruneMs / during.run.ms), 2),
    load: load(),
  };
}
