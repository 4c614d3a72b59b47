/**
 * Scenario 2 — ingest. A simulated fleet's history is recorded once (what an ideal observer
 * receives), then replayed as fast as the sockets take it to (a) a bare `ws` client that only
 * parses, and (b) a collector process writing into a fresh Postgres database; (c) the rows the
 * collector wrote are written again with COPY and with batched INSERT. All three are turns per
 * second over the same turns, measured in the same run; the collector's figure counts only once
 * every token and every turn is in the database (totals exact).
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startReplayServer } from "@codex-fleet/codex-fakes/replay-server";
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { ingestIntoCollector } from "../lib/collector-ingest.ts";
import { type CpuAccount, startCpuAccount } from "../lib/cpu-account.ts";
import { measureDbLimit } from "../lib/db-limit.ts";
import { load, round } from "../lib/machine.ts";
import { type Recording, recordFleet } from "../lib/recorder.ts";
import { waitFor } from "../lib/stats.ts";

export interface IngestOptions {
  servers: number;
  days: number;
  turnsPerDay: number;
  /** Bare-client runs; the fastest is the limit (default 3). */
  bareClientRuns?: number;
  /** Optional node flags for the collector (e.g. --cpu-prof). */
  collectorNodeArgs?: string[];
}

export interface IngestResult {
  servers: number;
  turns: number;
  usageReports: number;
  frames: number;
  megabytes: number;
  recordMs: number;
  bareClient: {
    ms: number;
    turnsPerSecond: number;
    runsMs: number[];
    /** The fastest run's CPU: the client's, the replay server's (bench), the machine's. */
    cpu: CpuAccount;
  };
  collector: {
    ms: number;
    /** Until every frame went through the collector's event path (the rest is writing). */
    framesProcessedMs: number;
    turnsPerSecond: number;
    exact: boolean;
    cpuSeconds: number;
    dbWriteMsMean: number;
    transactions: number;
    /** The collector's, Postgres's, the replay server's (bench) and the machine's CPU. */
    cpuAccount: CpuAccount;
  };
  dbLimit: {
    rows: Record<string, number>;
    copyMs: number;
    insertMs: number;
    copyTurnsPerSecond: number;
    insertTurnsPerSecond: number;
  };
  ratioToBareClient: number;
  ratioToDb: number;
  load: number[];
}

/** Sum of each thread's final cumulative total in the recording: must equal what was served. */
function recordedTotal(rec: Recording): number {
  const totals = new Map<string, number>();
  for (const s of rec.servers)
    for (const buf of s.frames) {
      const text = buf.toString();
      if (!text.includes('"thread/tokenUsage/updated"')) continue;
      const f = JSON.parse(text) as {
        params: { threadId: string; tokenUsage: { total: { totalTokens: number } } };
      };
      const t = f.params.tokenUsage.total.totalTokens;
      if (t > (totals.get(f.params.threadId) ?? 0)) totals.set(f.params.threadId, t);
    }
  let sum = 0;
  for (const t of totals.values()) sum += t;
  return sum;
}

async function bareClient(rec: Recording): Promise<{ ms: number; cpu: CpuAccount }> {
  const replay = await startReplayServer(rec);
  const child = fork(fileURLToPath(new URL("../lib/bare-client-child.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
  });
  try {
    const messages: Record<string, unknown>[] = [];
    child.on("message", (m: Record<string, unknown>) => messages.push(m));
    child.send({ urls: replay.urls, expectedFrames: rec.frames });
    await waitFor(() => (messages.some((m) => m.ready) ? true : undefined), {
      timeoutMs: 60_000,
      everyMs: 20,
      what: "bare client handshakes",
    });
    const account = startCpuAccount(child.pid as number); // before t0: its /proc scan is not timed
    const t0 = performance.now();
    await replay.stream();
    const done = await waitFor(() => messages.find((m) => m.done || m.error), {
      timeoutMs: 600_000,
      everyMs: 5,
      what: "bare client to receive every frame",
    });
    const ms = performance.now() - t0;
    const cpu = account();
    if (done.error) throw new Error(`bare client: ${String(done.error)}`);
    if (done.totalTokens !== rec.served.totalTokens)
      throw new Error(`bare client saw ${String(done.totalTokens)} tokens, served ${rec.served.totalTokens}`);
    return { ms, cpu };
  } finally {
    child.kill();
    await replay.close();
  }
}

/** Record, then measure the three rates over the same turns. */
export async function runIngest(opts: IngestOptions): Promise<IngestResult> {
  const rec = await recordFleet({
    servers: opts.servers,
    days: opts.days,
    turnsPerDay: opts.turnsPerDay,
    seed: "ingest",
  });
  const recorded = recordedTotal(rec);
  if (recorded !== rec.served.totalTokens)
    throw new Error(`recording incomplete: ${recorded} tokens in frames, ${rec.served.totalTokens} served`);
  process.stderr.write(
    `ingest: recorded ${rec.turns} turns, ${rec.frames} frames in ${round(rec.recordMs)} ms\n`,
  );

  // The limit is the best of a few runs (the cheapest one to repeat).
  const bareRuns: { ms: number; cpu: CpuAccount }[] = [];
  for (let i = 0; i < (opts.bareClientRuns ?? 3); i++) bareRuns.push(await bareClient(rec));
  const best = bareRuns.reduce((a, b) => (b.ms < a.ms ? b : a));
  const bareMs = best.ms;

  const testDb = await createTestDatabase();
  const db = createDb({ url: testDb.url, poolMax: 2 });
  // Profiling aid: BENCH_SLOWLOG=<ms> logs the collector's slower statements to the Postgres log.
  if (process.env.BENCH_SLOWLOG) {
    const name = new URL(testDb.url).pathname.slice(1);
    const ms = Number(process.env.BENCH_SLOWLOG);
    await db.pool.query(`ALTER DATABASE "${name}" SET log_min_duration_statement = ${ms}`);
    // The batches' JSON parameters are megabytes: log the statements' times, not their values.
    await db.pool.query(`ALTER DATABASE "${name}" SET log_parameter_max_length = 0`);
  }
  try {
    const run = await ingestIntoCollector({
      rec,
      dbUrl: testDb.url,
      pool: db.pool,
      ...(opts.collectorNodeArgs ? { nodeArgs: opts.collectorNodeArgs } : {}),
    });
    const { exact, cpu, writes, cpuAccount } = run;
    const collectorMs = run.ms;
    const framesMs = run.framesProcessedMs;
    const limit = await measureDbLimit(db.pool, ["usage_event", "turn", "thread", "usage_hourly"]);
    const tps = (ms: number) => round(rec.turns / (ms / 1000));
    const collectorTps = tps(collectorMs);
    const bareTps = tps(bareMs);
    const dbTps = Math.max(tps(limit.copyMs), tps(limit.insertMs));
    return {
      servers: opts.servers,
      turns: rec.turns,
      usageReports: rec.usageFrames,
      frames: rec.frames,
      megabytes: round(rec.bytes / 2 ** 20, 1),
      recordMs: round(rec.recordMs),
      bareClient: {
        ms: round(bareMs),
        turnsPerSecond: bareTps,
        runsMs: bareRuns.map((r) => round(r.ms)),
        cpu: best.cpu,
      },
      collector: {
        ms: round(collectorMs),
        framesProcessedMs: round(framesMs),
        turnsPerSecond: collectorTps,
        exact,
        cpuSeconds: round(cpu, 2),
        dbWriteMsMean: round(writes.sum / Math.max(1, writes.count), 1),
        transactions: writes.count,
        cpuAccount,
      },
      dbLimit: {
        rows: limit.rows,
        copyMs: round(limit.copyMs),
        insertMs: round(limit.insertMs),
        copyTurnsPerSecond: tps(limit.copyMs),
        insertTurnsPerSecond: tps(limit.insertMs),
      },
      ratioToBareClient: round(collectorTps / bareTps, 3),
      ratioToDb: round(collectorTps / dbTps, 3),
      load: load(),
    };
  } finally {
    await db.close();
    await testDb.drop();
  }
}
