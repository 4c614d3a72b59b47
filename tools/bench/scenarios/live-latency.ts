/**
 * Scenario 3 — live latency: `emittedAtMs` of a `thread/tokenUsage/updated` notification on a
 * simulated app-server → the moment a `/api/v1/live` client receives the `usage` frame for it
 * (sent once the tokens are counted in Postgres). N simulated servers with developers working
 * live; the simulator, the collector and the live client are three processes on one clock.
 */
import { createTestDatabase } from "@codex-fleet/db/testing";
import WebSocket from "ws";
import { startBenchCollector, waitOpen } from "../lib/collector-proc.ts";
import { cpuSeconds, load, round } from "../lib/machine.ts";
import { startSimProcess } from "../lib/sim-proc.ts";
import { sleep, summarize } from "../lib/stats.ts";

export interface LiveLatencyOptions {
  servers: number;
  turnsPerMinute: number;
  warmupMs: number;
  measureMs: number;
}

export interface LiveLatencyResult {
  servers: number;
  turnsPerMinutePerServer: number;
  turnsPerSecond: number;
  usageFrames: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  collectorCpuPct: number;
  load: number[];
}

/** Run the fleet live and sample latencies of every usage frame in the measuring window. */
export async function runLiveLatency(opts: LiveLatencyOptions): Promise<LiveLatencyResult> {
  const db = await createTestDatabase();
  const sim = await startSimProcess({
    servers: opts.servers,
    seed: "live-latency",
    turnsPerMinute: opts.turnsPerMinute,
    token: "bench-live-token",
    startPaused: true,
  });
  try {
    const collector = await startBenchCollector({
      dbUrl: db.url,
      targets: sim.servers.map((s) => ({ name: s.name, team: s.team, url: s.url, token: s.token })),
    });
    try {
      await waitOpen(collector, opts.servers, 300_000);
      const samples: number[] = [];
      let measuring = false;
      const live = new WebSocket(`${collector.baseUrl.replace("http", "ws")}/api/v1/live`, {
        perMessageDeflate: false,
      });
      live.on("message", (data) => {
        const now = Date.now();
        if (!measuring) return;
        const m = JSON.parse(data.toString()) as { type: string; atMs?: number };
        if (m.type === "usage" && typeof m.atMs === "number") samples.push(now - m.atMs);
      });
      await new Promise<void>((resolve, reject) => {
        live.once("open", () => resolve());
        live.once("error", reject);
      });
      await sim.resume();
      await sleep(opts.warmupMs);
      const turns0 = (await sim.stats()).turnsStarted;
      const cpu0 = cpuSeconds(collector.pid);
      const t0 = performance.now();
      measuring = true;
      await sleep(opts.measureMs);
      measuring = false;
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(collector.pid) - cpu0;
      const turns = (await sim.stats()).turnsStarted - turns0;
      await sim.pause();
      live.close();
      const s = summarize(samples);
      return {
        servers: opts.servers,
        turnsPerMinutePerServer: opts.turnsPerMinute,
        turnsPerSecond: round(turns / seconds, 1),
        usageFrames: s.n,
        p50Ms: s.p50,
        p95Ms: s.p95,
        p99Ms: s.p99,
        maxMs: s.max,
        collectorCpuPct: round((100 * cpu) / seconds, 1),
        load: load(),
      };
    } finally {
      await collector.stop();
    }
  } finally {
    await sim.close();
    await db.drop();
  }
}
