/**
 * The ingest bench's second limit: how fast this Postgres takes the very rows the collector
 * wrote, with nothing else to do. Each table's rows are written again into an empty copy of the
 * table (same columns, constraints and indexes) two ways: server-side `COPY FROM` a file, and
 * client-side batched `INSERT … SELECT FROM json_populate_recordset` of 1,000 rows per statement.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import type { DbPool } from "@codex-fleet/db/client";

/** Time to write every table's rows, per method. */
export interface DbLimit {
  rows: Record<string, number>;
  copyMs: number;
  insertMs: number;
}

const BATCH = 1000;

/** Rewrite `tables` into scratch copies and time it; the scratch tables are dropped after. */
export async function measureDbLimit(pool: DbPool, tables: readonly string[]): Promise<DbLimit> {
  const tag = randomBytes(4).toString("hex");
  const rows: Record<string, number> = {};
  let copyMs = 0;
  let insertMs = 0;
  for (const table of tables) {
    const file = `/tmp/fleet-bench-${tag}-${table}.csv`;
    const copyTable = `bench_copy_${table}`;
    const insertTable = `bench_insert_${table}`;
    for (const t of [copyTable, insertTable])
      await pool.query(
        `CREATE TABLE ${t} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`,
      );
    try {
      // Server-side files need a superuser (the project's Postgres: user postgres, trust auth).
      await pool.query(`COPY ${table} TO '${file}' WITH (FORMAT csv)`);
      const { rows: data } = await pool.query<{ j: string }>(
        `SELECT row_to_json(x)::text AS j FROM ${table} x`,
      );
      rows[table] = data.length;
      let t0 = performance.now();
      await pool.query(`COPY ${copyTable} FROM '${file}' WITH (FORMAT csv)`);
      copyMs += performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < data.length; i += BATCH) {
        const json = `[${data
          .slice(i, i + BATCH)
          .map((r) => r.j)
          .join(",")}]`;
        await pool.query(
          `INSERT INTO ${insertTable} SELECT * FROM json_populate_recordset(NULL::${insertTable}, $1::json)`,
          [json],
        );
      }
      insertMs += performance.now() - t0;
    } finally {
      await pool.query(`DROP TABLE IF EXISTS ${copyTable}, ${insertTable}`);
      rmSync(file, { force: true });
    }
  }
  return { rows, copyMs, insertMs };
}
