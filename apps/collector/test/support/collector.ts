/**
 * Runs a real collector in-process for tests: a YAML config file on disk (targets with token
 * files), the real config loader, a real Postgres database, the Fleet and the HTTP app on port 0.
 * Every frame the collector sends is recorded per target, to prove the observer's safety rules.
 */
import { dirname } from "node:path";
import { createDb } from "@codex-fleet/db/client";
import { createPricer } from "@codex-fleet/pricing";
import type { FastifyInstance } from "fastify";
import { installAlerts } from "../../src/alerts/install.ts";
import { buildApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Fleet } from "../../src/fleet/fleet.ts";
import { createLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";
import { writeChildConfig } from "./collector-child.ts";

export interface TestTarget {
  name: string;
  team?: string;
  url: string;
  token: string | null;
}

export interface RunningCollector {
  fleet: Fleet;
  app: FastifyInstance;
  baseUrl: string;
  /** Frames the collector sent, per target name, in order. */
  sent: Map<string, Record<string, unknown>[]>;
  logs: string[];
  stop(): Promise<void>;
}

export interface CollectorOptions {
  dbUrl: string;
  poolMax?: number;
  targets: TestTarget[];
  observer?: Record<string, number>;
  extraYaml?: string;
  /** Serve the built dashboard from this directory (its index.html, assets and SPA fallback). */
  dashboardDir?: string;
  /** Environment for the config loader (tokenEnv, secretEnv). */
  env?: Record<string, string>;
}

/** Start a collector against `dbUrl` following `targets`. */
export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  // The same config file the child-process collector gets (support/collector-child.ts).
  const configFile = writeChildConfig({
    dbUrl: opts.dbUrl,
    targets: opts.targets,
    observer: opts.observer,
    extraYaml: opts.extraYaml,
    logLevel: "debug",
  });
  const dir = dirname(configFile);
  const config = await loadConfig({ argv: ["--config", configFile], env: opts.env ?? {}, cwd: dir });

  const logs: string[] = [];
  const sink = {
    write(chunk: string) {
      logs.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const log = createLogger("debug", sink);
  const db = createDb({ url: opts.dbUrl, poolMax: opts.poolMax ?? 4 });
  const metrics = new Metrics();
  const pricer = createPricer(config.pricing.overrides);
  const sent = new Map<string, Record<string, unknown>[]>();
  const fleet = new Fleet({
    config,
    pool: db.pool,
    price: (model, atMs, tokens) => pricer.price(model, atMs, tokens),
    log,
    metrics,
    version: "test",
    onSent: (target, frame) => {
      const list = sent.get(target) ?? [];
      list.push(structuredClone(frame));
      sent.set(target, list);
    },
  });
  let address = "http://127.0.0.1";
  const alerts = installAlerts({ fleet, pool: db.pool, config, log, publicUrl: () => address });
  const { app } = await buildApp({
    fleet,
    pool: db.pool,
    metrics,
    logger: log,
    liveTickMs: 5,
    dashboardDir: opts.dashboardDir,
    plugins: [alerts.plugin],
    alertsSnapshot: () => alerts.openViews(),
  });
  await fleet.start();
  await alerts.start();
  address = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    fleet,
    app,
    baseUrl: address,
    sent,
    logs,
    stop: async () => {
      await app.close();
      await alerts.stop();
      await fleet.stop();
      await db.close();
    },
  };
}
