import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/**
 * Connections an embedded database takes: one. PGlite is a single Postgres session; pglite-socket
 * interleaves the wire messages of several clients, so two connections would share transactions,
 * session settings and the unnamed prepared statement. The server therefore accepts one socket at
 * a time (a second one fails with "Connection terminated unexpectedly"): use
 * `createDb({ url, poolMax: 1 })`, and run `migrate` before the pool's first query.
 */
export const EMBEDDED_POOL_MAX = 1;

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedOptions {
  /** Directory holding the database files (created when missing; reused when it exists). */
  dataDir: string;
  /** TCP port on 127.0.0.1 (default 0: the OS picks a free one). */
  port?: number;
}

/** A running embedded Postgres. */
export interface EmbeddedPostgres {
  /** postgres:// URL for pg, adapter-pg, migrate and the Prisma CLI. */
  url: string;
  /** Always {@link EMBEDDED_POOL_MAX}. */
  poolMax: typeof EMBEDDED_POOL_MAX;
  /** Closes the socket and the database (flushing it to dataDir). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts PGlite (Postgres compiled to WASM) persisted in `dataDir`, served over the Postgres wire
 * protocol on 127.0.0.1 so that the rest of the code talks to it exactly as to a real server.
 * For machines without Postgres; one process per dataDir.
 */
export async function startEmbeddedPostgres({
  dataDir,
  port = 0,
}: EmbeddedOptions): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: EMBEDDED_POOL_MAX });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  // getServerConn() is "127.0.0.1:<port>", with the port the OS picked once listening.
  const url = `postgresql://postgres@${server.getServerConn()}/postgres`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    poolMax: EMBEDDED_POOL_MAX,
    stop() {
      stopping ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}
