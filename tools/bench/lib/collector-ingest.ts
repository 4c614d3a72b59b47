/**
 * A recording replayed as fast as the sockets take it to a collector process writing into
 * `dbUrl`: how long until every token and every turn is in the database (scenarios ingest and
 * retention). `whileStreaming` starts with the stream (e.g. a prune to measure ingest against).
 */
import { startReplayServer } from "@codex-fleet/codex-fakes/replay-server";
import type { DbPool } from "@codex-fleet/db/client";
import { type BenchTarget, scrape, startBenchCollector, waitOpen } from "./collector-proc.ts";
import { type CpuAccount, startCpuAccount } from "./cpu-account.ts";
import type { Recording } from "./recorder.ts";
import { sleep, waitFor } from "./stats.ts";

export interface CollectorIngest {
  /** From the first frame streamed until every token and turn is counted. */
  ms: number;
  /** Until every frame went through the collector's event path (the rest is writing). */
  framesProcessedMs: number;
  /** The collector's CPU seconds (`cpuAccount.subjectSeconds`). */
  cpu: number;
  /** The collector's, Postgres's, the bench's (replay server) and the whole machine's CPU. */
  cpuAccount: CpuAccount;
  exact: boolean;
  writes: { count: number; sum: number };
}

/** Events the collector counted (every frame with a method is one). */
function notificationsSeen(m: Map<string, number>): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith("codex_fleet_notifications_total{")) n += v;
  return n;
}

export async function ingestIntoCollector<T = undefined>(args: {
  rec: Recording;
  dbUrl: string;
  /** A pool on the same database, to read what was counted. */
  pool: DbPool;
  nodeArgs?: string[];
  whileStreaming?: () => Promise<T>;
  /** More targets the collector follows that never answer (developers whose history is stored). */
  quietTargets?: readonly BenchTarget[];
}): Promise<CollectorIngest & { during: T | undefined }> {
  const { rec, pool } = args;
  const replay = await startReplayServer(rec);
  try {
    const collector = await startBenchCollector({
      dbUrl: args.dbUrl,
      targets: [
        ...rec.servers.map((s, i) => ({
          name: s.name,
          team: s.team,
          url: replay.urls[i] as string,
          token: null,
        })),
        ...(args.quietTargets ?? []),
      ],
      nodeArgs: args.nodeArgs,
    });
    try {
      await waitOpen(collector, rec.servers.length, 120_000);
      await waitFor(() => (replay.ready === rec.servers.length ? true : undefined), {
        timeoutMs: 60_000,
        what: "every collector connection initialized",
      });
      await sleep(1000); // the observer's start-up requests (loaded list, thread list) settle
      const before = await scrape(collector.baseUrl);
      // Before t0: its /proc scan is not timed.
      const account = startCpuAccount(collector.pid);
      const t0 = performance.now();
      const during = args.whileStreaming?.();
      await replay.stream();
      const expected = { tokens: rec.served.totalTokens, turns: rec.turns };
      const seen0 = notificationsSeen(before);
      let framesMs = 0;
      const counted = async () => {
        // Only the recording's developers: the database may hold other history (scenario retention).
        const { rows } = await pool.query<{ tokens: number; turns: number }>(
          `SELECT COALESCE(sum(total_tokens), 0)::float8 AS tokens, COALESCE(sum(turns), 0)::float8 AS turns
           FROM usage_hourly WHERE target_id = ANY($1::text[])`,
          [rec.servers.map((s) => s.name)],
        );
        return rows[0];
      };
      await waitFor(
        async () => {
          if (framesMs === 0 && notificationsSeen(await scrape(collector.baseUrl)) - seen0 >= rec.frames)
            framesMs = performance.now() - t0;
          const r = await counted();
          return r && r.tokens >= expected.tokens && r.turns >= expected.turns ? r : undefined;
        },
        { timeoutMs: 900_000, everyMs: 50, what: "the collector to count every turn" },
      );
      const ms = performance.now() - t0;
      const cpuAccount = account();
      const cpu = cpuAccount.subjectSeconds;
      const after = await scrape(collector.baseUrl);
      const writes = {
        count:
          (after.get("codex_fleet_db_write_ms_count") ?? 0) -
          (before.get("codex_fleet_db_write_ms_count") ?? 0),
        sum:
          (after.get("codex_fleet_db_write_ms_sum") ?? 0) - (before.get("codex_fleet_db_write_ms_sum") ?? 0),
      };
      const r = await counted();
      const exact = r?.tokens === expected.tokens && r?.turns === expected.turns;
      return { ms, framesProcessedMs: framesMs, cpu, cpuAccount, exact, writes, during: await during };
    } finally {
      await collector.stop();
    }
  } finally {
    await replay.close();
  }
}
