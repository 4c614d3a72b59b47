/**
 * Issue 12 — live latency across instances: two collectors on one database; A follows N
 * simulated servers, B follows none (its config has no targets, so nothing of the fleet is its
 * own). `emittedAtMs` of a `thread/tokenUsage/updated` on a server → the `usage` frame on a
 * `/api/v1/live` client of **B** (A counts the tokens in Postgres, publishes over NOTIFY, B's
 * replica applies it, B's hub sends it). A live client on A measures the same frames for
 * comparison. Until target leases land this is the only way to make B follow nothing with
 * compiled collectors (B's sync marks A's target rows disabled: it does not change what A does).
 */
import { createTestDatabase } from "@codex-fleet/db/testing";
import WebSocket from "ws";
import { startBenchCollector, waitOpen } from "../lib/collector-proc.ts";
import { cpuSeconds, load, round } from "../lib/machine.ts";
import { startSimProcess } from "../lib/sim-proc.ts";
import { sleep, summarize } from "../lib/stats.ts";

export interface ClusterLiveLatencyOptions {
  servers: number;
  turnsPerMinute: number;
  warmupMs: number;
  measureMs: number;
}

export interface ClusterLiveLatencyResult {
  servers: number;
  turnsPerSecond: number;
  /** Frames on B (another instance) and on A (the follower), and their latencies. */
  remote: { frames: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  local: { frames: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
  followerCpuPct: number;
  replicaCpuPct: number;
  load: number[];
}

function meter(baseUrl: string): { samples: number[]; measuring: { on: boolean }; ws: WebSocket } {
  const samples: number[] = [];
  const measuring = { on: false };
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/api/v1/live`, { perMessageDeflate: false });
  ws.on("message", (data) => {
    const now = Date.now();
    if (!measuring.on) return;
    const m = JSON.parse(data.toString()) as { type: string; atMs?: number };
    if (m.type === "usage" && typeof m.atMs === "number") samples.push(now - m.atMs);
  });
  return { samples, measuring, ws };
}

const opened = (ws: WebSocket) =>
  new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });

export async function runClusterLiveLatency(
  opts: ClusterLiveLatencyOptions,
): Promise<ClusterLiveLatencyResult> {
  const db = await createTestDatabase();
  const sim = await startSimProcess({
    servers: opts.servers,
    seed: "cluster-live-latency",
    turnsPerMinute: opts.turnsPerMinute,
    token: "bench-live-token",
    startPaused: true,
  });
  try {
    const a = await startBenchCollector({
      dbUrl: db.url,
      targets: sim.servers.map((s) => ({ name: s.name, team: s.team, url: s.url, token: s.token })),
    });
    const b = await startBenchCollector({ dbUrl: db.url, targets: [] });
    try {
      await waitOpen(a.baseUrl, opts.servers, 300_000);
      const onA = meter(a.baseUrl);
      const onB = meter(b.baseUrl);
      await Promise.all([opened(onA.ws), opened(onB.ws)]);
      await sim.resume();
      await sleep(opts.warmupMs);
      const turns0 = (await sim.stats()).turnsStarted;
      const cpuA0 = cpuSeconds(a.pid);
      const cpuB0 = cpuSeconds(b.pid);
      const t0 = performance.now();
      onA.measuring.on = true;
      onB.measuring.on = true;
      await sleep(opts.measureMs);
      onA.measuring.on = false;
      onB.measuring.on = false;
      const seconds = (performance.now() - t0) / 1000;
      const turns = (await sim.stats()).turnsStarted - turns0;
      const cpuA = cpuSeconds(a.pid) - cpuA0;
      const cpuB = cpuSeconds(b.pid) - cpuB0;
      await sim.pause();
      onA.ws.close();
      onB.ws.close();
      const figures = (x: number[]) => {
        const s = summarize(x);
        return { frames: s.n, p50Ms: s.p50, p95Ms: s.p95, p99Ms: s.p99, maxMs: s.max };
      };
      return {
        servers: opts.servers,
        turnsPerSecond: round(turns / seconds, 1),
        remote: figures(onB.samples),
        local: figures(onA.samples),
        followerCpuPct: round((100 * cpuA) / seconds, 1),
        replicaCpuPct: round((100 * cpuB) / seconds, 1),
        load: load(),
      };
    } finally {
      await b.stop();
      await a.stop();
    }
  } finally {
    await sim.close();
    await db.drop();
  }
}
