/**
 * Opens the database the config names, or an embedded PGlite under dataDir when none is named,
 * and applies pending migrations. Everything downstream talks plain Postgres through `pool`.
 */
import { resolve } from "node:path";
import type { DbPool } from "@codex-fleet/db/client";
import { createDb } from "@codex-fleet/db/client";
import { startEmbeddedPostgres } from "@codex-fleet/db/embedded";
import { migrate } from "@codex-fleet/db/migrate";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./logger.ts";

export interface OpenDatabase {
  pool: DbPool;
  /** For logs: never includes a password. */
  description: string;
  close(): Promise<void>;
}

export async function openDatabase(args: { config: Config; log: Logger }): Promise<OpenDatabase> {
  const { config, log } = args;
  let url: string | null = config.database.url;
  let poolMax = 10;
  let stopEmbedded: (() => Promise<void>) | null = null;
  let description: string;
  if (url) {
    description = redactUrl(url);
  } else {
    const dataDir = resolve(config.dataDir, "pglite");
    log.info({ dataDir }, "no DATABASE_URL: starting embedded PGlite");
    const embedded = await startEmbeddedPostgres({ dataDir });
    url = embedded.url;
    poolMax = 1; // PGlite is a single session (stack-notes.md)
    stopEmbedded = () => embedded.stop();
    description = `embedded PGlite in ${dataDir}`;
  }
  const dbUrl: string = url as string;
  const started = performance.now();
  const dbLog = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m) };
  const result = await migrate(dbUrl, { log: dbLog });
  log.info({ ms: Math.round(performance.now() - started), applied: result.applied }, "database ready");
  const db = createDb({ url: dbUrl, poolMax, log: dbLog });
  return {
    pool: db.pool,
    description,
    close: async () => {
      await db.close();
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
