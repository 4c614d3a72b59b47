/**
 * Opens the database the config names, or an embedded PGlite under dataDir when none is named,
 * and applies pending migrations. Everything downstream talks plain Postgres through `pool`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { migrate } from "@codex-fleet/db/migrate";
import { createPool, type DbPool } from "@codex-fleet/db/pool";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./logger.ts";

export interface OpenDatabase {
  pool: DbPool;
  /** Where the pool connects (an embedded PGlite's local socket URL included). */
  url: string;
  /** Embedded PGlite: a single session, so nothing else may open a second connection. */
  embedded: boolean;
  /** For logs: never includes a password. */
  description: string;
  close(): Promise<void>;
}

export async function openDatabase(args: {
  config: Config;
  log: Logger;
  /** Connections of the pool (default 10); always 1 on embedded PGlite. */
  poolMax?: number;
}): Promise<OpenDatabase> {
  const { config, log } = args;
  let url: string | null = config.database.url;
  let poolMax = args.poolMax ?? 10;
  let stopEmbedded: (() => Promise<void>) | null = null;
  let description: string;
  if (url) {
    description = redactUrl(url);
  } else {
    const dataDir = resolve(config.dataDir, "pglite");
    log.info({ dataDir }, "no DATABASE_URL: starting embedded PGlite");
    const releaseLock = lockDataDir(dataDir);
    // Loaded only here: PGlite (Postgres in WASM) costs memory a collector on a server never needs.
    const { startEmbeddedPostgres } = await import("@codex-fleet/db/embedded");
    const embedded = await startEmbeddedPostgres({ dataDir });
    url = embedded.url;
    poolMax = 1; // PGlite is a single session (stack-notes.md)
    stopEmbedded = async () => {
      await embedded.stop();
      releaseLock();
    };
    description = `embedded PGlite in ${dataDir}`;
  }
  const dbUrl: string = url as string;
  const started = performance.now();
  const dbLog = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
  const result = await migrate(dbUrl, { log: dbLog });
  log.info({ ms: Math.round(performance.now() - started), applied: result.applied }, "database ready");
  const pool = createPool({ url: dbUrl, poolMax, log: dbLog });
  return {
    pool,
    url: dbUrl,
    embedded: stopEmbedded !== null,
    description,
    close: async () => {
      await pool.end();
      if (stopEmbedded) await stopEmbedded();
    },
  };
}

/** postgresql://user:secret@host/db → postgresql://user:***@host/db */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

/**
 * Two processes on one PGlite data directory would corrupt it: hold a pid lock file, and refuse
 * with a clear message when a live process holds it (a stale lock from a killed one is taken over).
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = resolve(dataDir, "..", "pglite.lock");
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new Error(
        `the embedded database in ${dataDir} is in use by another collector (process ${pid}): embedded PGlite is a single session and serves one collector only. To run more than one collector, give every instance the same DATABASE_URL of a Postgres server (README "Running more than one collector"); otherwise stop process ${pid}, or give this one another dataDir`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  writeFileSync(file, String(process.pid));
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
