/**
 * The collector config of the demo and the soak: one target per simulated developer (their
 * tokens go to token files, never into the config), the Postgres of DATABASE_URL when set, else
 * embedded PGlite under the run's directory, and a short idle unsubscribe so the whole observer
 * life cycle (subscribe, unsubscribe, unload) shows quickly. Written by the product's config
 * writer (`writeConfigFile`).
 */
import { join } from "node:path";
import type { SimulatedTarget } from "@codex-fleet/codex-fakes/simulator";
import type { LaunchConfig } from "@codex-fleet/collector/launch";

export interface DemoConfigOptions {
  /** The run's directory: the embedded database goes under it. */
  dir: string;
  port: number;
  targets: readonly SimulatedTarget[];
  historyDays: number;
  /** Postgres to use (the caller's DATABASE_URL); omitted: embedded PGlite in `dir`/data. */
  databaseUrl?: string | undefined;
}

/** The config for {@link writeConfigFile}. */
export function demoCollectorConfig(o: DemoConfigOptions): LaunchConfig {
  return {
    server: { host: "127.0.0.1", port: o.port },
    ...(o.databaseUrl ? { database: { url: o.databaseUrl } } : { dataDir: join(o.dir, "data") }),
    targets: o.targets.map((t) => ({
      name: t.name,
      team: t.team,
      url: t.url,
      token: t.token,
      labels: { simulated: "true" },
    })),
    observer: {
      idleUnsubscribeMs: 15_000,
      // Backfill reaches as far back as the replayed history.
      backfillLookbackMs: Math.max(1, o.historyDays + 1) * 86_400_000,
    },
    logLevel: "info",
  };
}
