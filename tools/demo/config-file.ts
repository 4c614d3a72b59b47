/**
 * The collector config the demo writes: one target per simulated developer (token files with
 * mode 0600, never logged), embedded PGlite under the demo's temporary directory unless
 * DATABASE_URL is set (the collector applies that override itself), and a short idle
 * unsubscribe so the whole observer life cycle (subscribe, unsubscribe, unload) shows quickly.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SimulatedTarget } from "../simulator/fleet.ts";

export interface DemoConfigOptions {
  dir: string;
  port: number;
  targets: readonly SimulatedTarget[];
  historyDays: number;
}

/** Write tokens and `fleet.json` into `dir`; returns the config file's path. */
export function writeDemoConfig(o: DemoConfigOptions): string {
  const tokens = join(o.dir, "tokens");
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const targets = o.targets.map((t) => {
    const entry: Record<string, unknown> = {
      name: t.name,
      team: t.team,
      url: t.url,
      labels: { simulated: "true" },
    };
    if (t.token !== null) {
      const file = join(tokens, `${t.name}.token`);
      writeFileSync(file, `${t.token}\n`, { mode: 0o600 });
      entry.tokenFile = file;
    }
    return entry;
  });
  const config = {
    server: { host: "127.0.0.1", port: o.port },
    dataDir: join(o.dir, "data"),
    targets,
    observer: {
      idleUnsubscribeMs: 15_000,
      // Backfill reaches as far back as the replayed history.
      backfillLookbackMs: Math.max(1, o.historyDays + 1) * 86_400_000,
    },
    logLevel: "info",
  };
  const file = join(o.dir, "fleet.json");
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return file;
}
