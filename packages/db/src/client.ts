/**
 * The Prisma client over the product's pool (pool.ts), for tools and tests that want Prisma's
 * models. The collector itself runs on the pool alone.
 */
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";
import { createPool, type DbPool, type PoolOptions } from "./pool.ts";

export { createPool, type DbLogger, type DbPool, poolTypes } from "./pool.ts";

/** Options of {@link createDb}. */
export type DbOptions = PoolOptions;

/** A database handle: the Prisma client and the pg pool under it. */
export interface Db {
  /** Generated Prisma client (driver adapter @prisma/adapter-pg, no native engine). */
  prisma: PrismaClient;
  /** The same pool, for parameterized SQL on hot paths (batched writes, aggregates). */
  pool: DbPool;
  /** Disconnects Prisma, then ends the pool. */
  close(): Promise<void>;
}

/** Opens a pool and a Prisma client over it; nothing connects until the first query. */
export function createDb(options: DbOptions): Db {
  const pool = createPool(options);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closing: Promise<void> | undefined;
  return {
    prisma,
    pool,
    close() {
      closing ??= (async () => {
        await prisma.$disconnect();
        await pool.end();
      })();
      return closing;
    },
  };
}
