/**
 * The bench's collector: the shipped one (`dist/main.js`, what `npm start` runs) as a child
 * process through the product's launcher and config writer, configured with the product's
 * observer defaults, so that its RSS and CPU are its own and the bench process's work never
 * slows it down. Plus the few reads of its `/metrics` the scenarios share.
 */

import { freePort } from "@codex-fleet/codex-fakes/app-server";
import {
  type CollectorProcess,
  type LaunchConfig,
  launchCollector,
  writeConfigFile,
} from "@codex-fleet/collector/launch";
import { waitFor } from "./stats.ts";

export type { CollectorProcess } from "@codex-fleet/collector/launch";

/** A collector target. */
export interface BenchTarget {
  name: string;
  team: string;
  url: string;
  token: string | null;
}

/** The product defaults (config/schema.ts), so the bench measures what users run. */
const PRODUCT_OBSERVER = {
  idleUnsubscribeMs: 300_000,
  minBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
};

/** Start a collector on `dbUrl` following `targets`; resolves once `/readyz` answers. */
export async function startBenchCollector(args: {
  dbUrl: string;
  targets: readonly BenchTarget[];
  observer?: LaunchConfig["observer"];
  /** Several collectors on one database (the takeover scenario). */
  cluster?: LaunchConfig["cluster"];
  timeoutMs?: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}): Promise<CollectorProcess> {
  // A fixed port: at logLevel warn the collector does not log the address it listens on.
  const port = await freePort();
  const configFile = writeConfigFile({
    server: { host: "127.0.0.1", port },
    database: { url: args.dbUrl },
    logLevel: "warn",
    targets: args.targets,
    observer: { ...PRODUCT_OBSERVER, ...args.observer },
    ...(args.cluster ? { cluster: args.cluster } : {}),
  });
  // A/B of two builds with the same bench code (recording, seeds, checks): another checkout's
  // `apps/collector/dist/main.js` in BENCH_COLLECTOR_ENTRY.
  const entry = process.env.BENCH_COLLECTOR_ENTRY;
  return launchCollector({
    configFile,
    baseUrl: `http://127.0.0.1:${port}`,
    ...(entry ? { entry } : {}),
    ...(args.nodeArgs ? { nodeArgs: args.nodeArgs } : {}),
    ...(args.timeoutMs ? { timeoutMs: args.timeoutMs } : {}),
  });
}

/** Parse Prometheus text into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** GET /metrics of a collector. */
export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`);
  return parseMetrics(await res.text());
}

/** Wait until `n` targets are open; returns ms waited. */
/**
 * Wait until the collector has `n` open connections. On a timeout the error says how many were
 * open and ends with the collector's last log lines (warnings and errors at the bench's level), so
 * a run that fails at scale tells why.
 */
export async function waitOpen(c: CollectorProcess, n: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  let open: number | undefined;
  try {
    await waitFor(
      async () => {
        open = (await scrape(c.baseUrl)).get('codex_fleet_connections{state="open"}');
        return open === n ? true : undefined;
      },
      { timeoutMs, everyMs: 100, what: `${n} open connections` },
    );
  } catch (err) {
    const tail = c.output().split("\n").slice(-40).join("\n");
    throw new Error(`${(err as Error).message} (${open ?? "no"} open); the collector's last lines:\n${tail}`);
  }
  return performance.now() - t0;
}
