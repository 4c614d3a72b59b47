import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultMigrationsDir, MIGRATION_LOCK_KEY, migrate } from "../src/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";

const repoRoot = dirname(dirname(defaultMigrationsDir));

interface Row {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  started_at: Date;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = (url: string) =>
  query<Row>(url, "SELECT * FROM _prisma_migrations ORDER BY migration_name");

const scratchDirs: string[] = [];

/** A migrations directory holding the given `name → sql` folders. */
async function migrationsDir(migrations: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-migrations-"));
  scratchDirs.push(dir);
  await writeMigrations(dir, migrations);
  return dir;
}

async function writeMigrations(dir: string, migrations: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(migrations)) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, "migration.sql"), sql);
  }
}

afterAll(async () => {
  await Promise.all(scratchDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe("migrate", () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterEach(async () => {
    await db.drop();
  });

  it("applies every migration and records Prisma's rows when the database is fresh", async () => {
    const names = (await readdir(defaultMigrationsDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();

    const result = await migrate(db.url);

    expect(result.applied).toEqual(names);
    const rows = await migrationRows(db.url);
    for (const [i, name] of names.entries()) {
      const sql = await readFile(join(defaultMigrationsDir, name, "migration.sql"));
      expect(rows[i]).toMatchObject({
        migration_name: name,
        checksum: createHash("sha256").update(sql).digest("hex"),
        rolled_back_at: null,
        applied_steps_count: 1,
      });
      expect(rows[i]?.finished_at).toBeInstanceOf(Date);
    }
    const tables = await query<{ t: string | null }>(db.url, "SELECT to_regclass('usage_hourly')::text AS t");
    expect(tables[0]?.t).toBe("usage_hourly");
  });

  it("does nothing when run a second time", async () => {
    await migrate(db.url);
    const before = await migrationRows(db.url);

    const again = await migrate(db.url);

    expect(again.applied).toEqual([]);
    expect(await migrationRows(db.url)).toEqual(before);
  });

  it("applies each migration once when two clients migrate at the same time", async () => {
    // pg_sleep keeps the first migrator inside the lock while the second one arrives.
    const dir = await migrationsDir({
      "1_slow": "SELECT pg_sleep(0.3);\nCREATE TABLE a (id int PRIMARY KEY);",
      "2_next": "CREATE TABLE b (id int PRIMARY KEY);",
    });

    const results = await Promise.all([
      migrate(db.url, { migrationsDir: dir }),
      migrate(db.url, { migrationsDir: dir }),
    ]);

    expect(results.flatMap((r) => r.applied).sort()).toEqual(["1_slow", "2_next"]);
    expect((await migrationRows(db.url)).map((r) => r.migration_name)).toEqual(["1_slow", "2_next"]);
  });

  it("rejects when another migrator holds the lock longer than lockTimeoutMs", async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);

      await expect(migrate(db.url, { lockTimeoutMs: 200 })).rejects.toThrow(
        /another migration still holds the lock after 200 ms/,
      );
    } finally {
      await holder.end();
    }
    expect((await migrate(db.url)).applied.length).toBeGreaterThan(0);
  });

  it("applies only the new migration when one is added", async () => {
    const dir = await migrationsDir({ "1_a": "CREATE TABLE a (id int);" });
    await migrate(db.url, { migrationsDir: dir });
    await writeMigrations(dir, { "2_b": "CREATE TABLE b (id int);" });

    const result = await migrate(db.url, { migrationsDir: dir });

    expect(result.applied).toEqual(["2_b"]);
  });

  it.each([
    {
      when: "a migration's SQL fails",
      setup: async () =>
        migrationsDir({
          "1_ok": "CREATE TABLE a (id int);",
          "2_bad": "CREATE TABLE b (id int);\nSELECT 1/0;",
        }),
      error: /migration 2_bad failed: division by zero/,
      rows: ["1_ok"],
    },
    {
      when: "a failed migration is not resolved",
      setup: async () => {
        const dir = await migrationsDir({ "1_ok": "CREATE TABLE a (id int);" });
        await migrate(db.url, { migrationsDir: dir });
        await writeMigrations(dir, { "2_next": "CREATE TABLE b (id int);" });
        // What `prisma migrate deploy` leaves behind when a script fails half-way.
        await query(
          db.url,
          `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at)
           VALUES ('f', 'x', '1b_failed', now())`,
        );
        return dir;
      },
      error: /1b_failed failed earlier and is not resolved.*migrate resolve/,
      rows: ["1_ok", "1b_failed"],
    },
    {
      when: "the migrations directory does not exist",
      setup: async () => join(tmpdir(), "fleet-no-such-migrations-dir"),
      error: /migrations directory .*fleet-no-such-migrations-dir cannot be read/,
      rows: null,
    },
  ])("rejects and leaves no partial migration when $when", async ({ setup, error, rows }) => {
    const dir = await setup();

    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(error);

    if (rows === null) {
      expect(await query(db.url, "SELECT to_regclass('_prisma_migrations') AS t")).toEqual([{ t: null }]);
    } else {
      expect((await migrationRows(db.url)).map((r) => r.migration_name)).toEqual(rows);
      expect(await query(db.url, "SELECT to_regclass('b')::text AS t")).toEqual([{ t: null }]);
    }
  });

  it("agrees with `prisma migrate status` when it has migrated the database", async () => {
    await migrate(db.url);
    const cli = join(
      dirname(createRequire(import.meta.url).resolve("prisma/package.json")),
      "build",
      "index.js",
    );

    const status = spawnSync(process.execPath, [cli, "migrate", "status"], {
      cwd: repoRoot,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: db.url, CHECKPOINT_DISABLE: "1" },
    });

    expect(status.stdout + status.stderr).toContain("Database schema is up to date!");
    expect(status.status).toBe(0);
  }, 30_000);
});
