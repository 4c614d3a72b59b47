import { createHash, randomBytes } from "node:crypto";
import { access, cp, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres } from "./embedded.ts";
import { defaultMigrationsDir, migrate, readMigrations } from "./migrate.ts";

/** The server tried when TEST_DATABASE_URL is not set (the project machines' Postgres 15). */
export const DEFAULT_TEST_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

/** Options of {@link createTestDatabase}; the defaults read TEST_DATABASE_URL. */
export interface TestDatabaseOptions {
  /** A server URL whose role may CREATE DATABASE (default: TEST_DATABASE_URL, else 127.0.0.1:5432). */
  serverUrl?: string;
  /** Use embedded PGlite when the server is unreachable (default: only when TEST_DATABASE_URL is unset). */
  fallbackToEmbedded?: boolean;
  /** Apply prisma/migrations (default true; false gives an empty database, for tests of migrate). */
  migrate?: boolean;
}

/** A freshly migrated database of its own, for one test file. */
export interface TestDatabase {
  url: string;
  /** Pass to createDb: 1 on embedded PGlite. */
  poolMax: number;
  kind: "server" | "embedded";
  /** Drops the database (closing leftover connections) or stops and deletes the embedded one. */
  drop(): Promise<void>;
}

/** The server URL with another database name. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function connectAdmin(serverUrl: string): Promise<pg.Client | Error> {
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 });
  // An unreachable server may still emit 'error' after connect() rejected.
  admin.on("error", () => {});
  try {
    await admin.connect();
    return admin;
  } catch (err) {
    await admin.end().catch(() => {});
    return err as Error;
  }
}

/**
 * Creates a uniquely named, migrated database (`fleet_test_<pid>_<random>`) on the test server, or
 * an embedded PGlite in a temp dir when no server answers. Call `drop()` in afterAll.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const envUrl = process.env.TEST_DATABASE_URL || undefined;
  const serverUrl = options.serverUrl ?? envUrl ?? DEFAULT_TEST_SERVER_URL;
  const fallbackToEmbedded = options.fallbackToEmbedded ?? envUrl === undefined;
  const migrated = options.migrate ?? true;

  const admin = await connectAdmin(serverUrl);
  if (admin instanceof Error) {
    if (!fallbackToEmbedded) {
      throw new Error(`test database server ${redact(serverUrl)} is unreachable: ${admin.message}`, {
        cause: admin,
      });
    }
    return createEmbeddedTestDatabase(migrated);
  }

  const name = `fleet_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  const drop = async () => {
    const again = await connectAdmin(serverUrl);
    if (again instanceof Error) throw again;
    try {
      // FORCE: a test that forgot to close its pool must not keep the database alive.
      await again.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await again.end();
    }
  };
  try {
    if (migrated) await migrate(url);
  } catch (err) {
    await drop();
    throw err;
  }
  return { url, poolMax: 10, kind: "server", drop };
}

async function createEmbeddedTestDatabase(migrated: boolean): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), "fleet-test-pglite-"));
  // A new PGlite cluster costs 2-5 s (initdb in WASM); a copy of a migrated one opens in ~0.2 s.
  if (migrated) await cp(await embeddedTemplate(), dataDir, { recursive: true });
  const embedded = await startEmbeddedPostgres({ dataDir });
  const drop = async () => {
    await embedded.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    if (migrated) await migrate(embedded.url); // a no-op unless the template is stale
  } catch (err) {
    await drop();
    throw err;
  }
  return { url: embedded.url, poolMax: embedded.poolMax, kind: "embedded", drop };
}

/**
 * A migrated PGlite data dir in the temp dir, shared by test files and runs; keyed by the PGlite
 * version and the migrations, built once (parallel workers race to an atomic rename).
 */
async function embeddedTemplate(): Promise<string> {
  const hash = createHash("sha256").update(await pgliteVersion());
  for (const m of await readMigrations(defaultMigrationsDir)) hash.update(`${m.name}:${m.checksum}\n`);
  const dir = join(tmpdir(), `fleet-test-pglite-template-${hash.digest("hex").slice(0, 16)}`);
  if (
    await access(join(dir, "PG_VERSION")).then(
      () => true,
      () => false,
    )
  )
    return dir;
  const building = await mkdtemp(`${dir}-building-`);
  try {
    const embedded = await startEmbeddedPostgres({ dataDir: building });
    try {
      await migrate(embedded.url);
    } finally {
      await embedded.stop();
    }
    await rename(building, dir).catch(() => {}); // another worker got there first: use theirs
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return dir;
}

async function pgliteVersion(): Promise<string> {
  // The package's exports map hides its package.json: walk up from its entry point.
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  for (;;) {
    const pkg = await readFile(join(dir, "package.json"), "utf8").catch(() => undefined);
    const parsed = pkg ? (JSON.parse(pkg) as { name?: string; version?: string }) : undefined;
    if (parsed?.name === "@electric-sql/pglite" && parsed.version) return parsed.version;
    if (dirname(dir) === dir) return "unknown";
    dir = dirname(dir);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
