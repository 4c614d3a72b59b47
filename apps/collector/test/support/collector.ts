/**
 * Runs a real collector in-process for tests through the product's composition root
 * (`createCollector`): a config file on disk written by the product's config writer (targets with
 * token files), the real config loader, a real Postgres database, port 0. Every frame the
 * collector sends is recorded per target, to prove the observer's safety rules.
 */
import { dirname } from "node:path";
import type { FastifyInstance } from "fastify";
import { parse } from "yaml";
import { type Collector, type CollectorOverrides, createCollector } from "../../src/collector.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Fleet } from "../../src/fleet/fleet.ts";
import type { WriterTuning } from "../../src/ingest/writer.ts";
import { type LaunchConfig, type LaunchTarget, writeConfigFile } from "../../src/launch.ts";
import { createLogger } from "../../src/logger.ts";
import type { Metrics } from "../../src/metrics.ts";

export type TestTarget = LaunchTarget & { token: string | null };

/** Fast observer timings for tests (the product's defaults are minutes). */
export const TEST_OBSERVER = {
  idleUnsubscribeMs: 2000,
  minBackoffMs: 100,
  maxBackoffMs: 1000,
  connectTimeoutMs: 5000,
  pingIntervalMs: 5000,
};

/** What goes into a test's config file. */
export interface TestConfig {
  dbUrl: string;
  targets: readonly TestTarget[];
  observer?: Record<string, number>;
  /** More config keys as YAML (e.g. an `alerts:` section), merged over the rest. */
  extraYaml?: string;
  logLevel?: LaunchConfig["logLevel"];
}

/** The config file of a test collector, in a fresh temp dir (see {@link TestConfig}). */
export function writeTestConfig(cfg: TestConfig): string {
  const extra = cfg.extraYaml ? (parse(cfg.extraYaml) as Record<string, unknown>) : {};
  return writeConfigFile({
    server: { host: "127.0.0.1", port: 0 },
    database: { url: cfg.dbUrl },
    targets: cfg.targets.map((t) => ({ team: "core", ...t })),
    observer: { ...TEST_OBSERVER, ...cfg.observer },
    logLevel: cfg.logLevel ?? "info",
    ...extra,
  });
}

export interface RunningCollector {
  collector: Collector;
  app: FastifyInstance;
  fleet: Fleet;
  metrics: Metrics;
  baseUrl: string;
  /** Frames the collector sent, per target name, in order. */
  sent: Map<string, Record<string, unknown>[]>;
  /** Its log lines (JSON), capped at 20,000. */
  logs: string[];
  /** GET a JSON path of its HTTP API (throws on a non-200 answer). */
  get<T>(path: string): Promise<T>;
  /** What SIGTERM does: app, alerts, fleet (flushes within `graceMs`), writer thread, database. */
  stop(graceMs?: number): Promise<void>;
}

export interface CollectorOptions extends Omit<TestConfig, "logLevel"> {
  poolMax?: number;
  /** Serve the built dashboard from this directory (default: none, API only). */
  dashboardDir?: string;
  /** Environment for the config loader (tokenEnv, secretEnv). */
  env?: Record<string, string>;
  writer?: WriterTuning;
  overrides?: CollectorOverrides;
}

/** Start a collector against `dbUrl` following `targets`. */
export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  return startFromConfigFile(writeTestConfig({ ...opts, logLevel: "debug" }), opts);
}

/** Start an in-process collector from a config file (see {@link writeTestConfig}). */
export async function startFromConfigFile(
  configFile: string,
  opts: Omit<CollectorOptions, keyof TestConfig> = {},
): Promise<RunningCollector> {
  const config = await loadConfig({
    argv: ["--config", configFile],
    env: opts.env ?? {},
    cwd: dirname(configFile),
  });
  const logs: string[] = [];
  const sink = {
    write(chunk: string) {
      if (logs.length < 20_000) logs.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const sent = new Map<string, Record<string, unknown>[]>();
  const collector = await createCollector(config, {
    log: createLogger({ level: config.logLevel, format: "json", destination: sink }),
    version: "test",
    poolMax: opts.poolMax ?? 4,
    liveTickMs: 5,
    dashboardDir: opts.dashboardDir ?? null,
    ...(opts.writer ? { writer: opts.writer } : {}),
    onSent: (target, frame) => {
      const list = sent.get(target) ?? [];
      list.push(structuredClone(frame));
      sent.set(target, list);
    },
    ...opts.overrides,
  });
  const baseUrl = await collector.start();
  return {
    collector,
    app: collector.app,
    fleet: collector.fleet,
    metrics: collector.metrics,
    baseUrl,
    sent,
    logs,
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${baseUrl}${path}`);
      if (res.status !== 200) throw new Error(`${path} → ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    stop: (graceMs) => collector.stop(graceMs),
  };
}
