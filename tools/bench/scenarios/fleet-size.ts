/**
 * Scenario 1 — fleet size: N simulated app-servers connected and followed by one collector
 * process. Measures the time from spawning the collector until every target is open
 * (initialized), the collector's RSS per target against a collector with no target measured in
 * the same run, and its CPU when the fleet is idle (and, briefly, with developers working).
 */
import { createTestDatabase } from "@codex-fleet/db/testing";
import { startBenchCollector, waitOpen } from "../lib/collector-proc.ts";
import { cpuPercentOver, load, round, rssBytes } from "../lib/machine.ts";
import { startSimProcess } from "../lib/sim-proc.ts";
import { sleep } from "../lib/stats.ts";

/** One fleet size's figures. */
export interface FleetSizeResult {
  servers: number;
  /** Spawn → every target open. */
  followedMs: number;
  /** /readyz → every target open (connection work only). */
  connectMs: number;
  /** Idle: `idleMs` after the CPU sample (see FleetSizeOptions.idleMs). */
  rssMB: number;
  rssPerTargetKB: number;
  /** RSS right after the CPU sample (settle + sample after every target opened): what earlier runs reported. */
  earlyRssMB: number;
  idleCpuPct: number;
  /** With developers working at `activeTurnsPerMinute` each. */
  activeRssPerTargetKB: number;
  activeCpuPct: number;
  activeTurnsPerSecond: number;
  load: number[];
}

export interface FleetSizeOptions {
  sizes: number[];
  settleMs: number;
  sampleMs: number;
  /**
   * How long more the collector idles before its RSS is read. A start-up (or a connect storm)
   * commits heap that V8 gives back in a memory-reducing collection, which it starts only after
   * seconds of low allocation: 8–10 s after start on a quiet machine, 15–30 s on a loaded one
   * (session 15, --trace-gc). Read earlier, the figure is the transient, not the idle collector.
   */
  idleMs: number;
  activeMs: number;
  activeTurnsPerMinute: number;
}

/** An idle collector's figures: CPU over `sampleMs` after `settleMs`, RSS then and after `idleMs`. */
async function idleFigures(
  pid: number,
  opts: FleetSizeOptions,
): Promise<{ idleCpuPct: number; earlyRssMB: number; rssMB: number }> {
  await sleep(opts.settleMs);
  const idleCpuPct = await cpuPercentOver(pid, opts.sampleMs);
  const earlyRssMB = rssBytes(pid) / 2 ** 20;
  await sleep(opts.idleMs);
  return { idleCpuPct, earlyRssMB, rssMB: rssBytes(pid) / 2 ** 20 };
}

/** Collector RSS with no target at all: the baseline every per-target figure subtracts. */
async function baselineRss(
  opts: FleetSizeOptions,
): Promise<{ rssMB: number; earlyRssMB: number; idleCpuPct: number }> {
  const db = await createTestDatabase();
  try {
    const c = await startBenchCollector({ dbUrl: db.url, targets: [] });
    try {
      return await idleFigures(c.pid, opts);
    } finally {
      await c.stop();
    }
  } finally {
    await db.drop();
  }
}

async function oneSize(n: number, baseRssMB: number, opts: FleetSizeOptions): Promise<FleetSizeResult> {
  const db = await createTestDatabase();
  const sim = await startSimProcess({
    servers: n,
    seed: `fleet-${n}`,
    turnsPerMinute: opts.activeTurnsPerMinute,
    token: "bench-fleet-token",
    startPaused: true,
  });
  try {
    const t0 = performance.now();
    const c = await startBenchCollector({
      dbUrl: db.url,
      targets: sim.servers.map((s) => ({ name: s.name, team: s.team, url: s.url, token: s.token })),
      observer: { connectTimeoutMs: 30_000 },
    });
    try {
      const ready = performance.now();
      await waitOpen(c, n, 300_000);
      const followedMs = performance.now() - t0;
      const connectMs = performance.now() - ready;
      const { idleCpuPct, earlyRssMB, rssMB } = await idleFigures(c.pid, opts);
      const before = (await sim.stats()).turnsStarted;
      await sim.resume();
      const t1 = performance.now();
      await sleep(Math.max(0, opts.activeMs - opts.sampleMs));
      const activeCpuPct = await cpuPercentOver(c.pid, opts.sampleMs);
      const activeRssMB = rssBytes(c.pid) / 2 ** 20;
      const turns = (await sim.stats()).turnsStarted - before;
      const activeTurnsPerSecond = turns / ((performance.now() - t1) / 1000);
      await sim.pause();
      return {
        servers: n,
        followedMs: round(followedMs),
        connectMs: round(connectMs),
        rssMB: round(rssMB, 1),
        rssPerTargetKB: round(((rssMB - baseRssMB) * 1024) / n, 1),
        earlyRssMB: round(earlyRssMB, 1),
        idleCpuPct: round(idleCpuPct, 1),
        activeRssPerTargetKB: round(((activeRssMB - baseRssMB) * 1024) / n, 1),
        activeCpuPct: round(activeCpuPct, 1),
        activeTurnsPerSecond: round(activeTurnsPerSecond, 1),
        load: load(),
      };
    } finally {
      await c.stop();
    }
  } finally {
    await sim.close();
    await db.drop();
  }
}

/** Run every size; the baseline collector runs first, in the same run. */
export async function runFleetSize(opts: FleetSizeOptions): Promise<{
  baseline: { rssMB: number; earlyRssMB: number; idleCpuPct: number };
  sizes: FleetSizeResult[];
}> {
  const baseline = await baselineRss(opts);
  const sizes: FleetSizeResult[] = [];
  for (const n of opts.sizes) {
    const r = await oneSize(n, baseline.rssMB, opts);
    process.stderr.write(`fleet-size ${JSON.stringify(r)}\n`);
    sizes.push(r);
  }
  return {
    baseline: {
      rssMB: round(baseline.rssMB, 1),
      earlyRssMB: round(baseline.earlyRssMB, 1),
      idleCpuPct: round(baseline.idleCpuPct, 1),
    },
    sizes,
  };
}
