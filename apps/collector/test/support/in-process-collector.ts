/**
 * The collector wired like main.ts (config file → Fleet, alerts, HTTP app on 127.0.0.1:0) but in
 * the test's process, for faults whose evidence is inside it: the writer's backlog and
 * compactions, and writer bounds a config file does not set (`maxBufferedReports`).
 */
import { dirname } from "node:path";
import { createDb } from "@codex-fleet/db/client";
import { createPricer } from "@codex-fleet/pricing";
import { installAlerts } from "../../src/alerts/install.ts";
import { buildApp } from "../../src/app.ts";
import { loadConfig } from "../../src/config/load.ts";
import { Fleet } from "../../src/fleet/fleet.ts";
import type { WriterTuning } from "../../src/ingest/writer.ts";
import { createLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";

/** A running in-process collector. */
export interface InProcessCollector {
  fleet: Fleet;
  metrics: Metrics;
  baseUrl: string;
  /** Its log lines (JSON). */
  logs: string[];
  /** GET a JSON path of its HTTP API (throws on a non-200 answer). */
  get<T>(path: string): Promise<T>;
  /** What main.ts does on SIGTERM: app, alerts, fleet (flushes), database. */
  stop(): Promise<void>;
}

/** Start from a config file (see collector-child.ts writeChildConfig) with the writer tuned. */
export async function startInProcess(
  configFile: string,
  writer: WriterTuning = {},
): Promise<InProcessCollector> {
  const config = await loadConfig({ argv: ["--config", configFile], env: {}, cwd: dirname(configFile) });
  if (!config.database.url) throw new Error("the in-process collector needs database.url");
  const logs: string[] = [];
  const sink = {
    write(chunk: string) {
      if (logs.length < 20_000) logs.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const log = createLogger(config.logLevel, sink);
  const db = createDb({
    url: config.database.url,
    poolMax: 4,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m) },
  });
  const metrics = new Metrics();
  const pricer = createPricer(config.pricing.overrides);
  const fleet = new Fleet({
    config,
    pool: db.pool,
    price: (model, atMs, tokens) => pricer.price(model, atMs, tokens),
    log,
    metrics,
    version: "test",
    writer,
  });
  let baseUrl = "http://127.0.0.1";
  const alerts = installAlerts({ fleet, pool: db.pool, config, log, publicUrl: () => baseUrl });
  const { app } = await buildApp({
    fleet,
    pool: db.pool,
    metrics,
    logger: log,
    plugins: [alerts.plugin],
    alertsSnapshot: () => alerts.openViews(),
  });
  await fleet.start();
  await alerts.start();
  baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    fleet,
    metrics,
    baseUrl,
    logs,
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${baseUrl}${path}`);
      if (res.status !== 200) throw new Error(`${path} → ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async stop() {
      await app.close();
      await alerts.stop();
      await fleet.stop();
      await db.close();
    },
  };
}
