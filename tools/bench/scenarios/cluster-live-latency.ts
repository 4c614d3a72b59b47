/**
 * Issue 12 — live latency across instances. Two collectors with **the same config** on one
 * database, as the README tells operators to run them: the target leases split the fleet between
 * them (about half each). A `/api/v1/live` client on each records, for every `usage` frame, the
 * target and `receive time − atMs` (`atMs`: the `emittedAtMs` of the `thread/tokenUsage/updated`
 * it reports). A frame on one instance about a target **the other** follows has crossed instances
 * (the holder counts the tokens in Postgres, publishes over NOTIFY, this instance's replica applies
 * it, its hub sends it): the "remote" figure. The same frames on the holder are the "local"
 * baseline of the same run. Targets whose holder changed during the measurement are left out.
 *
 * Until session 6 this scenario gave B an empty target list so that it would follow nothing. With
 * leases that made the two instances disagree about the fleet: every ~20 s B's config sync
 * disabled the targets, A dropped all 1,000 and followed them again, and the reconnect storm
 * (2,000 target-row writes queued on A's pool, ahead of the replica's NOTIFY) was the tail that
 * was measured (p99 1.3–1.9 s).
 */
import { createTestDatabase } from "@codex-fleet/db/testing";
import type { ClusterView, TargetView } from "@codex-fleet/protocol/api";
import WebSocket from "ws";
import { type CollectorProcess, scrape, startBenchCollector } from "../lib/collector-proc.ts";
import { cpuSeconds, load, round } from "../lib/machine.ts";
import { startSimProcess } from "../lib/sim-proc.ts";
import { sleep, summarize, waitFor } from "../lib/stats.ts";

export interface ClusterLiveLatencyOptions {
  servers: number;
  turnsPerMinute: number;
  warmupMs: number;
  measureMs: number;
}

type Figures = { frames: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };

export interface ClusterLiveLatencyResult {
  servers: number;
  turnsPerSecond: number;
  /** Targets each instance followed through the measurement. */
  held: [number, number];
  /** Frames about a target the other instance follows, and the same frames on the holder. */
  remote: Figures;
  local: Figures;
  cpuPct: [number, number];
  /** Both instances' replication over the run: payloads published, "re-read" notices among them. */
  replicaPayloads: number;
  rereadNotices: number;
  load: number[];
}

const NAMES = ["bench-a", "bench-b"] as const;

interface Meter {
  /** [target, latency ms] of every usage frame while measuring. */
  samples: [string, number][];
  measuring: { on: boolean };
  ws: WebSocket;
}

function meter(baseUrl: string): Meter {
  const samples: [string, number][] = [];
  const measuring = { on: false };
  const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/api/v1/live`, { perMessageDeflate: false });
  ws.on("message", (data) => {
    const now = Date.now();
    if (!measuring.on) return;
    const m = JSON.parse(data.toString()) as { type: string; atMs?: number; target?: string };
    if (m.type === "usage" && typeof m.atMs === "number" && typeof m.target === "string")
      samples.push([m.target, now - m.atMs]);
  });
  return { samples, measuring, ws };
}

const opened = (ws: WebSocket) =>
  new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });

async function getJson<T>(c: CollectorProcess, path: string): Promise<T> {
  const res = await fetch(`${c.baseUrl}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * Target name → the instance that follows it, each instance speaking for itself (its view of the
 * other's leases may be a keeper round old).
 */
async function holders(collectors: readonly CollectorProcess[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [i, c] of collectors.entries()) {
    const name = NAMES[i] ?? "";
    const body = await getJson<TargetView[] | { items: TargetView[] }>(c, "/api/v1/targets");
    for (const t of Array.isArray(body) ? body : body.items) if (t.followedBy === name) out.set(t.name, name);
  }
  return out;
}

const replication = async (c: CollectorProcess) => {
  const m = await scrape(c.baseUrl);
  return {
    payloads: m.get('codex_fleet_replica_payloads_total{direction="published"}') ?? 0,
    rereads: m.get("codex_fleet_replica_reread_notices_total") ?? 0,
  };
};

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
  const targets = sim.servers.map((s) => ({ name: s.name, team: s.team, url: s.url, token: s.token }));
  const collectors: CollectorProcess[] = [];
  try {
    for (const name of NAMES)
      collectors.push(await startBenchCollector({ dbUrl: db.url, targets, cluster: { instanceName: name } }));
    const [a, b] = collectors as [CollectorProcess, CollectorProcess];
    // Settled: nobody's target unfollowed, each instance holding at least 40 %, all open.
    await waitFor(
      async () => {
        const cluster = await getJson<ClusterView>(a, "/api/v1/cluster");
        const held = cluster.instances.filter((i) => i.live).map((i) => i.targetsHeld);
        const open = (await Promise.all(collectors.map((c) => scrape(c.baseUrl)))).reduce(
          (n, m) => n + (m.get('codex_fleet_connections{state="open"}') ?? 0),
          0,
        );
        return cluster.unfollowed === 0 &&
          held.length === 2 &&
          held.every((h) => h >= opts.servers * 0.4) &&
          open === opts.servers
          ? true
          : undefined;
      },
      { timeoutMs: 600_000, everyMs: 500, what: "the two instances to share the targets, all open" },
    );
    const meters = [meter(a.baseUrl), meter(b.baseUrl)] as const;
    await Promise.all(meters.map((m) => opened(m.ws)));
    await sim.resume();
    await sleep(opts.warmupMs);
    const before = await holders(collectors);
    const turns0 = (await sim.stats()).turnsStarted;
    const cpu0 = collectors.map((c) => cpuSeconds(c.pid));
    const rep0 = await Promise.all(collectors.map(replication));
    const t0 = performance.now();
    for (const m of meters) m.measuring.on = true;
    await sleep(opts.measureMs);
    for (const m of meters) m.measuring.on = false;
    const seconds = (performance.now() - t0) / 1000;
    const turns = (await sim.stats()).turnsStarted - turns0;
    const cpu = collectors.map((c, i) => cpuSeconds(c.pid) - (cpu0[i] ?? 0));
    const rep1 = await Promise.all(collectors.map(replication));
    const after = await holders(collectors);
    await sim.pause();
    for (const m of meters) m.ws.close();

    const stable = new Map<string, string>();
    for (const [target, holder] of before) if (after.get(target) === holder) stable.set(target, holder);
    const remote: number[] = [];
    const local: number[] = [];
    meters.forEach((m, i) => {
      for (const [target, ms] of m.samples) {
        const holder = stable.get(target);
        if (holder === undefined) continue;
        (holder === NAMES[i] ? local : remote).push(ms);
      }
    });
    const count = (name: string) => [...stable.values()].filter((h) => h === name).length;
    const figures = (x: number[]): Figures => {
      const s = summarize(x);
      return { frames: s.n, p50Ms: s.p50, p95Ms: s.p95, p99Ms: s.p99, maxMs: s.max };
    };
    return {
      servers: opts.servers,
      turnsPerSecond: round(turns / seconds, 1),
      held: [count(NAMES[0]), count(NAMES[1])],
      remote: figures(remote),
      local: figures(local),
      cpuPct: [round((100 * (cpu[0] ?? 0)) / seconds, 1), round((100 * (cpu[1] ?? 0)) / seconds, 1)],
      replicaPayloads: rep1.reduce((n, r, i) => n + r.payloads - (rep0[i]?.payloads ?? 0), 0),
      rereadNotices: rep1.reduce((n, r, i) => n + r.rereads - (rep0[i]?.rereads ?? 0), 0),
      load: load(),
    };
  } finally {
    for (const c of collectors.reverse()) await c.stop();
    await sim.close();
    await db.drop();
  }
}
