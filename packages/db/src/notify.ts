/**
 * Postgres LISTEN/NOTIFY for replication between collectors on one database (issue 12): a
 * dedicated listening connection (a pooled one would go back to the pool and stop listening) and
 * a batched NOTIFY on the pool. Payloads are at most {@link NOTIFY_MAX_BYTES} (Postgres refuses
 * 8000 bytes and more); notifications of one statement arrive in order, after it commits.
 */
import pg from "pg";
import { poolTypes } from "./pool.ts";

/** The largest payload Postgres accepts ("must be shorter than 8000 bytes"). */
export const NOTIFY_MAX_BYTES = 7999;

/** A connection that LISTENs on one channel. */
export interface Listener {
  /** Ends the connection (no further `onEnd`). */
  close(): Promise<void>;
}

/**
 * Connect, LISTEN on `channel`, deliver each payload to `onMessage`. `onEnd` is called once when
 * the connection is lost (a reset socket, a restarted server): the caller reconnects — and must
 * re-read what it replicates, since notifications sent meanwhile are gone.
 */
export async function listen(args: {
  url: string;
  channel: string;
  onMessage: (payload: string) => void;
  onEnd: (err: Error | null) => void;
  /** How long connecting may take (default 5000 ms). */
  connectTimeoutMs?: number;
}): Promise<Listener> {
  const client = new pg.Client({
    connectionString: args.url,
    types: poolTypes,
    application_name: "codex-fleet-listen",
    connectionTimeoutMillis: args.connectTimeoutMs ?? 5000,
    // A half-open TCP connection (a cut network) would otherwise wait for the kernel's timeout.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  let ended = false;
  let closing = false;
  const end = (err: Error | null) => {
    if (ended) return;
    ended = true;
    if (!closing) args.onEnd(err);
  };
  client.on("error", (err) => end(err));
  client.on("end", () => end(null));
  client.on("notification", (n) => {
    if (n.channel === args.channel && n.payload !== undefined) args.onMessage(n.payload);
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(args.channel)}`);
  } catch (err) {
    closing = true;
    await client.end().catch(() => {});
    throw err;
  }
  return {
    async close() {
      closing = true;
      await client.end().catch(() => {});
    },
  };
}

/** Send `payloads` on `channel` in one statement (one round trip, one transaction, array order). */
export async function notifyAll(args: { pool: pg.Pool; channel: string; payloads: string[] }): Promise<void> {
  if (args.payloads.length === 0) return;
  await args.pool.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [
    args.channel,
    args.payloads,
  ]);
}
