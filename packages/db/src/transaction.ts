/**
 * One transaction on one pooled connection: `begin` (e.g. `BEGIN READ ONLY; SET LOCAL …`), then
 * `fn`, then COMMIT — or ROLLBACK when `fn` throws, the error passed on. A connection whose
 * ROLLBACK fails too is discarded rather than handed back to the pool.
 */
import type { Pool, PoolClient } from "pg";

export async function inTransaction<T>(
  pool: Pool,
  begin: string,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    broken = await client.query("ROLLBACK").then(
      () => false,
      () => true,
    );
    throw err;
  } finally {
    client.release(broken);
  }
}
