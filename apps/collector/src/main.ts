/**
 * The collector process: read the config once, open the database (Postgres from DATABASE_URL or
 * the config; otherwise embedded PGlite under dataDir), apply migrations, follow every target,
 * serve the API and the dashboard, and shut down gracefully on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPricer } from "@codex-fleet/pricing";
import { installAlerts } from "./alerts/install.ts";
import { buildApp } from "./app.ts";
import { ManagedTargets } from "./auth/managed-targets.ts";
import { registerTargetRoutes } from "./auth/target-routes.ts";
import { ConfigError } from "./config/errors.ts";
import { loadConfig } from "./config/load.ts";
import { openDatabase } from "./database.ts";
import { Fleet } from "./fleet/fleet.ts";
import { startWriterThread } from "./ingest/writer-thread.ts";
import { createLogger } from "./logger.ts";
import { Metrics } from "./metrics.ts";

const here = dirname(fileURLToPath(import.meta.url));
const VERSION = (JSON.parse(readFileSync(resolve(here, "../package.json"), "utf8")) as { version: string })
  .version;
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const metrics = new Metrics();
  const db = await openDatabase({ config, log });
  const pricer = createPricer(config.pricing.overrides);
  // Ingest transactions on their own thread (writer-thread.ts), except on embedded PGlite, which
  // is a single session: a second connection would not be isolated from the first.
  const writerThread = db.embedded
    ? null
    : startWriterThread({ url: db.url, poolMax: 2, overrides: config.pricing.overrides });
  const fleet = new Fleet({
    config,
    pool: db.pool,
    price: (model, atMs, tokens) => pricer.price(model, atMs, tokens),
    log,
    metrics,
    version: VERSION,
    ...(writerThread ? { writeBatch: ({ price: _price, ...batch }) => writerThread.write(batch) } : {}),
  });
  let ready = false;
  let listenUrl = `http://${config.server.host}:${config.server.port}`;
  const alerts = installAlerts({
    fleet,
    pool: db.pool,
    config,
    log,
    publicUrl: () => config.server.publicUrl ?? listenUrl,
  });
  // Targets added through the admin API; their tokens are decrypted here (CODEX_FLEET_SECRET_KEY).
  const managedTargets = new ManagedTargets({ pool: db.pool, fleet, config, log });
  const { app } = await buildApp({
    fleet,
    pool: db.pool,
    metrics,
    logger: log,
    dashboardDir: resolve(here, "../../dashboard/dist"),
    isReady: () => ready,
    plugins: [alerts.plugin, (app) => registerTargetRoutes(app, managedTargets)],
    alertsSnapshot: () => alerts.openViews(),
    auth: { config: config.auth, publicUrl: config.server.publicUrl, host: config.server.host },
  });
  metrics.gauge("process_resident_memory_bytes", () => ({
    help: "Resident memory of the collector process.",
    values: [["", process.memoryUsage.rss()]],
  }));
  metrics.gauge("codex_fleet_ingest_backlog", () => ({
    help: "Write operations waiting for the database.",
    values: [["", fleet.writer.backlog]],
  }));
  metrics.gauge("codex_fleet_ingest_compactions", () => ({
    help: "Times the write buffer hit its bound and kept only the newest total per thread (since start).",
    values: [["", fleet.writer.compacted]],
  }));
  metrics.gauge("codex_fleet_ingest_dropped", () => ({
    help: "Write operations the database refused as data (a value out of range) and dropped (since start).",
    values: [["", fleet.writer.dropped]],
  }));
  metrics.gauge("codex_fleet_alerts", () => {
    const open = alerts.openViews();
    const count = (state: string) => open.filter((a) => a.state === state).length;
    return {
      help: "Open alerts by state (resolved ones are closed and not counted).",
      values: [
        ['state="pending"', count("pending")],
        ['state="firing"', count("firing")],
      ],
    };
  });
  await fleet.start(await managedTargets.load());
  // Alerts start after the fleet has loaded its state, or every thread alert would look resolved.
  await alerts.start();
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  listenUrl = address;
  ready = true;
  log.info(
    {
      address,
      targets: fleet.targets.size,
      database: db.description,
      config: config.source ?? "(defaults)",
      auth: config.auth.enabled ? "on" : "off",
    },
    "codex-fleet collector listening",
  );
  if (fleet.targets.size === 0)
    log.warn(
      "no targets configured: add some under `targets:` in the config file or POST /api/v1/targets (see README)",
    );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info({ signal }, "shutting down");
    const startedAt = Date.now();
    const force = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    try {
      await app.close();
      await alerts.stop();
      // Buffered writes get what is left of the grace period (a database that is back within it
      // loses nothing), minus a second to close the pool and exit on our own terms.
      await fleet.stop(Math.max(0, startedAt + SHUTDOWN_GRACE_MS - 1000 - Date.now()));
      await writerThread?.close();
      await db.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, "error during shutdown");
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(
    `codex-fleet collector failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
