/**
 * Seeds scenario growth's stored history into a database of its own, once, and keeps it: the run
 * at the goal's size (100 M turns, ≈ 66 GB, ≈ 45 min) then reuses it with BENCH_GROWTH_DB.
 *
 *   node --conditions=source --import tsx bench/seed-growth.ts --turns=100000000 [--name=fleet_growth]
 *   BENCH_GROWTH_TURNS=100000000 BENCH_GROWTH_DB=postgresql://postgres@127.0.0.1:5432/fleet_growth \
 *     npm run bench -- --only=growth
 *
 * Drop it afterwards: `dropdb -h 127.0.0.1 -U postgres fleet_growth`.
 */
import { parseArgs } from "node:util";
import { createDb } from "@codex-fleet/db/client";
import { migrate } from "@codex-fleet/db/migrate";
import { DEFAULT_TEST_SERVER_URL } from "@codex-fleet/db/testing";
import { seedStored } from "./scenarios/growth.ts";

const { values } = parseArgs({
  options: { turns: { type: "string" }, name: { type: "string", default: "fleet_growth" } },
});
const turns = Number(values.turns);
if (!Number.isInteger(turns) || turns <= 0) throw new Error("--turns=<a positive integer> is required");
if (!/^[a-z_][a-z0-9_]*$/.test(values.name)) throw new Error("--name: lower-case letters, digits and _");
const server = process.env.TEST_DATABASE_URL || DEFAULT_TEST_SERVER_URL;
const admin = createDb({ url: server, poolMax: 1 });
await admin.pool.query(`CREATE DATABASE "${values.name}"`);
await admin.close();
const url = new URL(server);
url.pathname = `/${values.name}`;
await migrate(url.toString());
const db = createDb({ url: url.toString(), poolMax: 2 });
try {
  const { threads, seedMs } = await seedStored(db.pool, turns, 1_000_000);
  process.stdout.write(
    `seeded ${turns} turns, ${threads} threads in ${Math.round(seedMs / 1000)} s: ${url}\n`,
  );
} finally {
  await db.close();
}
