/**
 * The collector process: read the config once, build the collector (collector.ts), listen, and
 * shut down gracefully on SIGTERM/SIGINT. Everything else lives in the composition root.
 */
import { setFlagsFromString } from "node:v8";
import { createCollector, SHUTDOWN_GRACE_MS } from "./collector.ts";
import { ConfigError } from "./config/errors.ts";
import { loadConfig } from "./config/load.ts";
import { heapPolicyFlags } from "./heap-policy.ts";

async function main(): Promise<void> {
  // Before the heap grows: V8 reads the factor at each full collection.
  // A value given on node's command line or in NODE_OPTIONS (not in execArgv) wins.
  const nodeOptions = (process.env.NODE_OPTIONS ?? "").split(/\s+/).filter(Boolean);
  for (const flag of heapPolicyFlags([...process.execArgv, ...nodeOptions])) setFlagsFromString(flag);
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    // Relative paths (--config, dataDir) resolve from where the user ran the command: npm runs
    // scripts in the package's directory and says where it was started in INIT_CWD.
    const cwd = process.env.INIT_CWD || process.cwd();
    config = await loadConfig({ argv: process.argv.slice(2), env: process.env, cwd });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const collector = await createCollector(config);
  const { log, fleet, database } = collector;
  const address = await collector.start();
  log.info(
    {
      address,
      targets: fleet.targets.size,
      database: database.description,
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
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    try {
      await collector.stop(SHUTDOWN_GRACE_MS);
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
