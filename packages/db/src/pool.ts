/**
 * The pg pool every query of the product runs on: parameterized SQL, type parsers shared with
 * Prisma's view of the schema. The product never loads the Prisma client (client.ts) at run time —
 * its hot paths are batched SQL (stack-notes.md) — so neither the main thread nor the writer thread
 * pays for Prisma's runtime.
 */
import pg from "pg";

/** The logger shape the db package writes to (a pino/Fastify logger fits). */
export interface DbLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** A postgres:// URL. */
  url: string;
  /** Most connections the pool opens (default 10). Embedded PGlite needs 1: see embedded.ts. */
  poolMax?: number;
  /** Receives errors of idle pooled connections (a restarted server, a dropped socket). */
  log?: DbLogger;
  /** Give up connecting, and any query, after this long (default: never; the lease keeper sets it). */
  timeoutMs?: number;
  /** application_name (default codex-fleet). */
  name?: string;
}

/** The pool type other packages pass around without importing pg themselves. */
export type DbPool = pg.Pool;

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const TIMESTAMP_OID = 1114;

// Prisma's DateTime is `timestamp(3)` WITHOUT time zone holding UTC. pg would send a JS Date with
// the process's local offset, which such a column silently drops; this makes pg send UTC, so rows
// written through the pool and through Prisma agree on any TZ. (Global, but only packages/db uses pg.)
pg.defaults.parseInputDatesAsUTC = true;

function parseInt8(text: string): number {
  const n = Number(text);
  // A thrown parser error rejects that query (pg catches it per row); it never returns a rounded count.
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

function parseNumeric(text: string): number {
  const n = Number(text);
  // Postgres prints numeric without exponents; an integer beyond 2^53 would come back rounded.
  if (!text.includes(".") && Number.isFinite(n) && !Number.isSafeInteger(n)) {
    throw new RangeError(`numeric value ${text} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return n;
}

const parseLocalTimestamp = pg.types.getTypeParser(TIMESTAMP_OID, "text");

/** `timestamp` (without time zone) as a UTC instant, like Prisma reads it; pg would assume local time. */
function parseUtcTimestamp(text: string): Date | string {
  const date = new Date(`${text.replace(" ", "T")}Z`);
  return Number.isNaN(date.getTime()) ? parseLocalTimestamp(text) : date; // infinity, BC dates
}

/**
 * Type parsers of the raw-SQL pool: int8 (20) and numeric (1700) as JS numbers, and timestamp
 * (1114) as UTC.
 *
 * Why numbers: token counters (int8) and their SUMs (numeric, since SUM(int8) is numeric) stay far
 * below 2^53 (9e15 tokens), and costs (numeric(20,10)) are shown and charted, not re-summed in JS,
 * where a double's ~15 significant digits is far finer than a cent. An integer outside the safe
 * range rejects the query with a RangeError instead of returning a rounded count.
 * Scoped to this pool (not pg.types globally): adapter-pg passes its own per-query parsers, so
 * Prisma keeps returning BigInt and Decimal for its models and $queryRaw.
 */
export const poolTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (format !== "binary") {
      if (oid === INT8_OID) return parseInt8;
      if (oid === NUMERIC_OID) return parseNumeric;
      if (oid === TIMESTAMP_OID) return parseUtcTimestamp;
    }
    return pg.types.getTypeParser(oid, format as "text");
  }) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * Opens a pool (nothing connects until the first query). Its int8 and numeric columns come back
 * as JS numbers, timestamps as UTC: see {@link poolTypes}.
 */
export function createPool({ url, poolMax = 10, log, timeoutMs, name }: PoolOptions): DbPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    types: poolTypes,
    application_name: name ?? "codex-fleet",
    ...(timeoutMs === undefined ? {} : { connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs }),
  });
  // Without a listener, an idle client's socket error (server restart) crashes the process.
  pool.on("error", (err) => log?.warn(`database: idle connection error: ${err.message}`));
  // The pool only listens while a client is idle: a client checked out mid-transaction whose
  // socket resets (Postgres restarted, network cut) would emit an unhandled 'error' and crash the
  // process. Its pending query rejects anyway; this listener only keeps the process alive.
  pool.on("connect", (client) => {
    client.on("error", (err) => log?.warn(`database: connection error: ${err.message}`));
  });
  return pool;
}
