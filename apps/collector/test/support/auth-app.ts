/**
 * A collector with access control for the auth tests, built by the product's composition root
 * (`createCollector`) from a config file loaded by the real loader (YAML + env + files), on a real
 * Postgres database. Logs are captured. `now` drives sessions and the login rate limit (fake clock).
 */
import type { DbPool } from "@codex-fleet/db/client";
import type { FastifyInstance } from "fastify";
import type { InstalledAlerts } from "../../src/alerts/install.ts";
import { createCollector } from "../../src/collector.ts";
import type { Config } from "../../src/config/schema.ts";
import type { Fleet } from "../../src/fleet/fleet.ts";
import { createLogger } from "../../src/logger.ts";
import type { ManagedTargets } from "../../src/targets/managed-targets.ts";
import { loadFile } from "./config-files.ts";

/** Tokens the auth tests sign in with (≥ 16 characters, as load.ts requires). */
export const ADMIN_TOKEN = "admin-token-4f1b9c2e7d";
export const VIEWER_TOKEN = "viewer-token-8a3e6d0b5c";
/** A valid CODEX_FLEET_SECRET_KEY (64 hex digits). */
export const SECRET_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

export interface AuthAppOptions {
  db: { url: string; poolMax: number };
  /** The config file (YAML); default: auth on with the two tokens from env, no targets. */
  yaml?: string;
  env?: Record<string, string>;
  files?: Record<string, string>;
  now?: () => number;
  /** Listen on 127.0.0.1:0 (for real WebSocket clients). */
  listen?: boolean;
  dashboardDir?: string;
}

export interface AuthApp {
  app: FastifyInstance;
  fleet: Fleet;
  config: Config;
  managed: ManagedTargets;
  alerts: InstalledAlerts;
  db: { pool: DbPool };
  /** Every log line the collector wrote. */
  logs: string[];
  /** `http://127.0.0.1:<port>` when listening. */
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * The default config: auth on, admin and viewer tokens from the environment; reachable as
 * `fleet.test` too (the Host the inject-based tests send).
 */
export const AUTH_ON_YAML = [
  "server: { host: 127.0.0.1, port: 0, allowedHosts: [fleet.test] }",
  "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
  "logLevel: debug",
].join("\n");

/** Start an app; see {@link AuthAppOptions}. */
export async function startAuthApp(opts: AuthAppOptions): Promise<AuthApp> {
  const env = { ADMIN_TOKEN, VIEWER_TOKEN, ...opts.env };
  const { config } = await loadFile(`${opts.yaml ?? AUTH_ON_YAML}\ndatabase: { url: "${opts.db.url}" }\n`, {
    env,
    files: opts.files,
  });
  const logs: string[] = [];
  const sink = {
    write(chunk: string) {
      logs.push(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const collector = await createCollector(config, {
    log: createLogger({ level: "debug", format: "json", destination: sink }),
    version: "test",
    poolMax: opts.db.poolMax,
    liveTickMs: 5,
    dashboardDir: opts.dashboardDir ?? null,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const baseUrl = (await collector.start({ listen: opts.listen ?? false })) || "http://127.0.0.1";
  return {
    app: collector.app,
    fleet: collector.fleet,
    config,
    managed: collector.managedTargets,
    alerts: collector.alerts,
    db: collector.database,
    logs,
    baseUrl,
    stop: () => collector.stop(),
  };
}
