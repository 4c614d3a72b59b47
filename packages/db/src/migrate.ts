import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { DbLogger } from "./client.ts";

/**
 * The repository's prisma/migrations, found from this file so that the working directory of the
 * process does not matter (packages/db/src → ../../../prisma/migrations).
 */
export const defaultMigrationsDir = fileURLToPath(new URL("../../../prisma/migrations/", import.meta.url));

/**
 * The advisory lock key Prisma's schema engine takes for `migrate deploy|dev` (its SQL log shows
 * `SELECT pg_advisory_lock(72707369)`): sharing it serializes us with the Prisma CLI as well as
 * with other collectors.
 */
export const MIGRATION_LOCK_KEY = 72707369;

/** Options of {@link migrate}. */
export interface MigrateOptions {
  log?: DbLogger;
  /** Directory of `<name>/migration.sql` folders (default: the repository's prisma/migrations). */
  migrationsDir?: string;
  /** How long to wait for another migrator's lock before failing (default 60 s). */
  lockTimeoutMs?: number;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Names of the migrations applied by this call, in order (empty when none was pending). */
  applied: string[];
  durationMs: number;
}

/** One migration folder's script. */
export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

// Prisma's own DDL for its bookkeeping table (copied from what `prisma migrate deploy` runs), so
// that `prisma migrate status|deploy|resolve` keep working on databases this module migrated.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** The migration folders in apply order (Prisma orders them by name: a timestamp prefix). */
export async function readMigrations(dir: string): Promise<MigrationFile[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`migrations directory ${dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const files = await Promise.all(
    names.map(async (name): Promise<MigrationFile | undefined> => {
      const bytes = await readFile(join(dir, name, "migration.sql")).catch(() => undefined);
      if (!bytes) return undefined;
      // Prisma's checksum is the sha256 of the file's bytes, hex-encoded.
      return {
        name,
        sql: bytes.toString("utf8"),
        checksum: createHash("sha256").update(bytes).digest("hex"),
      };
    }),
  );
  return files.filter((f) => f !== undefined);
}

/**
 * Applies the pending migrations of prisma/migrations to the database at `url`, the way
 * `prisma migrate deploy` would, and records them in `_prisma_migrations` with Prisma's checksums.
 *
 * Safe to call from several collectors at once (a Postgres advisory lock), and a few milliseconds
 * when nothing is pending. Each migration runs in its own transaction with its bookkeeping row, so
 * a failed one leaves neither schema changes nor a row behind; the error names the migration.
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const started = performance.now();
  const { log, migrationsDir = defaultMigrationsDir, lockTimeoutMs = 60_000 } = options;
  const migrations = await readMigrations(migrationsDir);
  if (migrations.length === 0) throw new Error(`no migrations found in ${migrationsDir}`);

  const client = new pg.Client({ connectionString: url, application_name: "codex-fleet-migrate" });
  // A connection lost between two queries is reported by the next query; the event must not crash.
  client.on("error", () => {});
  await client.connect();
  const applied: string[] = [];
  try {
    // lock_timeout bounds the wait for a concurrent migrator; reset so migrations run unbounded.
    await client.query(`SET lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]).catch((err: Error) => {
      throw new Error(`another migration still holds the lock after ${lockTimeoutMs} ms: ${err.message}`, {
        cause: err,
      });
    });
    try {
      await client.query("RESET lock_timeout");
      const rows = await readMigrationRows(client);
      for (const migration of pendingMigrations(migrations, rows, log)) {
        await applyMigration(client, migration);
        applied.push(migration.name);
        log?.info(`database: applied migration ${migration.name}`);
      }
    } finally {
      // Best effort: ending the session below releases the lock anyway, and must not mask an error.
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
  return { applied, durationMs: performance.now() - started };
}

async function readMigrationRows(client: pg.Client): Promise<MigrationRow[]> {
  const exists = await client.query<{ t: string | null }>(
    "SELECT to_regclass('_prisma_migrations')::text AS t",
  );
  if (!exists.rows[0]?.t) {
    await client.query(CREATE_MIGRATIONS_TABLE);
    return [];
  }
  const result = await client.query<MigrationRow>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM _prisma_migrations ORDER BY started_at`,
  );
  return result.rows;
}

/** The files not yet applied; refuses, like Prisma (P3009), while a failed migration is unresolved. */
function pendingMigrations(files: MigrationFile[], rows: MigrationRow[], log?: DbLogger): MigrationFile[] {
  const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    throw new Error(
      `migration ${failed.migration_name} failed earlier and is not resolved; fix the database, then run ` +
        `\`npx prisma migrate resolve --rolled-back ${failed.migration_name}\` (or --applied)`,
    );
  }
  const done = new Map(
    rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => [r.migration_name, r]),
  );
  const known = new Set(files.map((f) => f.name));
  for (const row of done.values()) {
    if (!known.has(row.migration_name)) {
      log?.warn(
        `database: migration ${row.migration_name} is applied but unknown to this version (a newer collector?)`,
      );
    }
  }
  for (const file of files) {
    const row = done.get(file.name);
    if (row && row.checksum !== file.checksum) {
      log?.warn(`database: migration ${file.name} was modified after it was applied (checksum differs)`);
    }
  }
  return files.filter((f) => !done.has(f.name));
}

async function applyMigration(client: pg.Client, migration: MigrationFile): Promise<void> {
  await client.query("BEGIN");
  try {
    // No parameters: the simple query protocol runs the whole multi-statement script.
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO _prisma_migrations
         (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`, { cause: err });
  }
}
