/**
 * Prisma CLI configuration: the JS (wasm) schema engine over @prisma/adapter-pg, so that
 * `prisma generate`, `migrate dev|deploy|status|diff` run offline (Prisma 6.19.3 would otherwise
 * download a native engine; see /work/shared/stack-notes.md "Prisma 6.19.3 offline").
 *
 * The collector does not use this file: it migrates itself (packages/db/src/migrate.ts).
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
// biome-ignore lint/style/noRestrictedImports: the Prisma CLI loads its adapter from this root file.
import pg from "pg";
import { defineConfig, env } from "prisma/config";

// Whenever the CLI cannot resolve the schema's generator (DATABASE_URL unset, a schema error) it
// falls back to the native query engine and tries to download it, hiding the real error. Pointing
// this documented override at an existing file stops the download; the file is never loaded,
// since the client generator uses engineType = "client".
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= fileURLToPath(import.meta.url);

/** Postgres type ids the wasm schema engine reads from the catalogs but adapter-pg cannot map. */
const CATALOG_TYPE_IDS = new Set([18 /* "char" */, 19 /* name */]);
const TEXT_TYPE_ID = 25;

/**
 * A pg.Pool that reports `"char"` and `name` result columns as `text`.
 *
 * Why: the schema engine introspects pg_catalog columns of those types and adapter-pg throws
 * UnsupportedNativeDataType for them (prisma/prisma#27403). Their text form is the value anyway.
 */
class CatalogTextPool extends pg.Pool {
  // biome-ignore lint/suspicious/noExplicitAny: pg.Pool#query has many overloads; adapter-pg uses the promise one.
  override query(...args: any[]): any {
    // biome-ignore lint/suspicious/noExplicitAny: see above.
    const result = (super.query as (...a: any[]) => any)(...args);
    if (!(result instanceof Promise)) return result;
    return result.then((res: pg.QueryResult) => {
      for (const field of res.fields ?? []) {
        if (CATALOG_TYPE_IDS.has(field.dataTypeID)) field.dataTypeID = TEXT_TYPE_ID;
      }
      return res;
    });
  }
}

/** The database URL with another database name. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

function adapterFactory(url: string) {
  const connectTo = (connectionString: string) =>
    new PrismaPg(
      // max 1: the engine's advisory lock then guards every statement it sends, and embedded PGlite
      // (packages/db/src/embedded.ts) accepts one connection. allowExitOnIdle: the CLI does not
      // always dispose the adapter, and idle clients must not keep the process alive.
      new CatalogTextPool({ connectionString, max: 1, allowExitOnIdle: true }),
      { disposeExternalPool: true },
    ).connect();

  return {
    provider: "postgres" as const,
    adapterName: "@prisma/adapter-pg",
    connect: () => connectTo(url),
    /**
     * Why not PrismaPg#connectToShadowDb: it builds the shadow pool as `{ ...config, database }`,
     * and pg lets `connectionString` win over `database`, so the "shadow" pool reaches the main
     * database (which `migrate dev` then resets); its pool is also a plain pg.Pool (no #27403
     * fix) and it never ends the admin pool. We create and drop a uniquely named database ourselves.
     */
    async connectToShadowDb() {
      const name = `prisma_shadow_${process.pid}_${randomBytes(4).toString("hex")}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE DATABASE "${name}"`);
      const adapter = await connectTo(withDatabase(url, name));
      const disposeShadowPool = adapter.dispose.bind(adapter);
      adapter.dispose = async () => {
        try {
          await disposeShadowPool();
          await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      };
      return adapter;
    },
  };
}

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  experimental: { adapter: true },
  engine: "js",
  // Called lazily by the commands that reach the database; `generate` never calls it.
  adapter: async () => adapterFactory(env("DATABASE_URL")), // throws a readable error when unset
});
