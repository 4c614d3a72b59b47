/**
 * A collector app with access control for the auth tests: the real config loader (YAML + env +
 * files), a real Postgres database, the real Fleet, alerts, managed targets and `buildApp` with
 * auth. Logs are captured. `now` drives sessions and the login rate limit (fake clock).
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import { createPricer } from "@codex-fleet/pricing";
import type { FastifyInstance } from "fastify";
import { type InstalledAlerts, installAlerts } from "../../src/alerts/install.ts";
import { buildApp } from "../../src/app.ts";
import { ManagedTargets } from "../../src/auth/managed-targets.ts";
import { registerTargetRoutes } from "../../src/auth/target-routes.ts";
import type { Config } from "../../src/config/schema.ts";
import { loadFile } from "../../src/config/test-support.ts";
import { Fleet } from "../../src/fleet/fleet.ts";
import { createLogger } from "../../src/logger.ts";
import { Metrics } from "../../src/metrics.ts";

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
  /** Omit `auth` from buildApp (what tests and the demo do): access control off. */
  noAuth?: boolean;
}

export interface AuthApp {
  app: FastifyInstance;
  fleet: Fleet;
  config: Config;
  managed: ManagedTargets;
  alerts: InstalledAlerts;
  db: Db;
  /** Every log line the collector wrote. */
  logs: string[];
  /** `http://127.0.0.1:<port>` when listening. */
  baseUrl: string;
  stop(): Promise<void>;
}

/** The default config: auth on, admin and viewer tokens from the environment. */
export const AUTH_ON_YAML = [
  "server: { host: 127.0.0.1, port: 0 }",
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
  const log = createLogger("debug", sink);
  const db = createDb({ url: opts.db.url, poolMax: opts.db.poolMax });
  const pricer = createPricer(config.pricing.overrides);
  const metrics = new Metrics();
  const fleet = new Fleet({
    config,
    pool: db.pool,
    price: (model, atMs, tokens) => pricer.price(model, atMs, tokens),
    log,
    metrics,
    version: "test",
  });
  let baseUrl = "http://127.0.0.1";
  const alerts = installAlerts({ fleet, pool: db.pool, config, log, publicUrl: () => baseUrl });
  const managed = new ManagedTargets({ pool: db.pool, fleet, config, log });
  const { app } = await buildApp({
    fleet,
    pool: db.pool,
    metrics,
    logger: log,
    liveTickMs: 5,
    dashboardDir: opts.dashboardDir,
    plugins: [alerts.plugin, (a) => registerTargetRoutes(a, managed)],
    alertsSnapshot: () => alerts.openViews(),
    auth: opts.noAuth
      ? undefined
      : { config: config.auth, publicUrl: config.server.publicUrl, host: config.server.host, now: opts.now },
  });
  await fleet.start(await managed.load());
  await alerts.start();
  if (opts.listen) baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
  else await app.ready();
  return {
    app,
    fleet,
    config,
    managed,
    alerts,
    db,
    logs,
    baseUrl,
    stop: async () => {
      await app.close();
      await alerts.stop();
      await fleet.stop();
      await db.close();
    },
  };
}
