/**
 * Scenario — takeover (issue 12): three collector processes share one Postgres and N simulated
 * app-servers (leases split them). The instance holding the most targets is SIGKILLed; measured:
 * the time from the kill until every target is open again on the two others (goal ≤ 30 s for
 * 5,000 targets with the default 15 s lease TTL, which the figure includes), each instance's RSS
 * beforehand, and what the three cost Postgres once idle: commits per second on the database
 * (lease rounds, heartbeats, contact touches) and lease rows updated per second (each renewal is
 * one statement per instance that extends all of its leases).
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { type CollectorProcess, scrape, startBenchCollector } from "../lib/collector-proc.ts";
import { load, round, rssBytes } from "../lib/machine.ts";
import { startSimProcess } from "../lib/sim-proc.ts";
import { sleep, waitFor } from "../lib/stats.ts";

export interface TakeoverOptions {
  servers: number;
  leaseTtlMs: number;
  /** Wait after every target is open (start-up scans finish) before sampling. */
  settleMs: number;
  /** How long the idle database cost is sampled. */
  sampleMs: number;
}

export interface TakeoverResult {
  servers: number;
  leaseTtlMs: number;
  /** Targets the killed instance held. */
  killedHeld: number;
  /** SIGKILL → every target open on the survivors. */
  takeoverMs: number;
  rssMB: number[];
  /** Idle, all three running: commits per second on the whole database. */
  idleTransactionsPerSecond: number;
  /** Idle: lease rows updated per second (every renewal extends each held lease). */
  leaseRowUpdatesPerSecond: number;
  load: number[];
}

const open = async (c: CollectorProcess) =>
  (await scrape(c.baseUrl).catch(() => new Map<string, number>())).get(
    'codex_fleet_connections{state="open"}',
  ) ?? 0;

export async function runTakeover(opts: TakeoverOptions): Promise<TakeoverResult> {
  const db = await createTestDatabase();
  const sim = await startSimProcess({
    servers: opts.servers,
    seed: `takeover-${opts.servers}`,
    turnsPerMinute: 0,
    token: "bench-takeover-token",
    startPaused: true,
  });
  const sql = createDb({ url: db.url, poolMax: 1 });
  const collectors: CollectorProcess[] = [];
  try {
    const targets = sim.servers.map((s) => ({ name: s.name, team: s.team, url: s.url, token: s.token }));
    for (let i = 0; i < 3; i++)
      collectors.push(
        await startBenchCollector({
          dbUrl: db.url,
          targets,
          observer: { connectTimeoutMs: 30_000 },
          cluster: { leaseTtlMs: opts.leaseTtlMs, instanceName: `bench-${i + 1}` },
          timeoutMs: 300_000,
        }),
      );
    const openSum = async (cs: CollectorProcess[]) =>
      (await Promise.all(cs.map(open))).reduce((a, b) => a + b, 0);
    await waitFor(async () => ((await openSum(collectors)) === opts.servers ? true : undefined), {
      timeoutMs: 600_000,
      everyMs: 500,
      what: `${opts.servers} targets open across three collectors`,
    });
    const rssMB = collectors.map((c) => round(rssBytes(c.pid) / 2 ** 20, 1));
    const commits = async () =>
      (
        await sql.pool.query<{ n: number }>(
          "SELECT xact_commit::float8 AS n FROM pg_stat_database WHERE datname = current_database()",
        )
      ).rows[0]?.n ?? 0;
    const leaseUpdates = async () =>
      (
        await sql.pool.query<{ n: number }>(
          "SELECT n_tup_upd::float8 AS n FROM pg_stat_user_tables WHERE relname = 'lease'",
        )
      ).rows[0]?.n ?? 0;
    await sleep(opts.settleMs);
    const [c0, u0] = [await commits(), await leaseUpdates()];
    const t0 = performance.now();
    await sleep(opts.sampleMs);
    // The statistics collector reports with a delay of up to a second: sample long enough.
    const seconds = (performance.now() - t0) / 1000;
    const idleTransactionsPerSecond = ((await commits()) - c0) / seconds;
    const leaseRowUpdatesPerSecond = ((await leaseUpdates()) - u0) / seconds;

    const held = await Promise.all(
      collectors.map(
        async (c) => (await scrape(c.baseUrl)).get('codex_fleet_leases_held{kind="target"}') ?? 0,
      ),
    );
    const victim = held.indexOf(Math.max(...held));
    const dead = collectors[victim] as CollectorProcess;
    const survivors = collectors.filter((_, i) => i !== victim);
    const killedAt = performance.now();
    dead.kill("SIGKILL");
    await dead.exited;
    await waitFor(async () => ((await openSum(survivors)) === opts.servers ? true : undefined), {
      timeoutMs: 600_000,
      everyMs: 100,
      what: `${opts.servers} targets open on the two survivors`,
    });
    const takeoverMs = performance.now() - killedAt;
    return {
      servers: opts.servers,
      leaseTtlMs: opts.leaseTtlMs,
      killedHeld: held[victim] ?? 0,
      takeoverMs: round(takeoverMs),
      rssMB,
      idleTransactionsPerSecond: round(idleTransactionsPerSecond, 1),
      leaseRowUpdatesPerSecond: round(leaseRowUpdatesPerSecond, 1),
      load: load(),
    };
  } finally {
    await Promise.all(collectors.map((c) => c.stop().catch(() => {})));
    await sql.close();
    await sim.close();
    await db.drop();
  }
}
