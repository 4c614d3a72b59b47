/**
 * What a restart costs with history stored (issue 13, sessions 13–14): the built collector
 * following 1,000 targets (pointing where nothing listens) on a database that already stores N
 * threads of theirs, `notLoaded`, their last events spread evenly over the last `--days` days
 * (default 365: a year of history). Prints the threads held (the working set: heard from within
 * `retention.threadMemoryDays`, fleet.ts forgetCold), the time to /readyz and the RSS 10 s later.
 *
 *   node --conditions=source --import tsx bench/stored-threads.ts [0,250000,1000000] [--days=365]
 *   node --conditions=source --import tsx bench/stored-threads.ts --grown=<url of seed-growth.ts's database>
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { startBenchCollector } from "./lib/collector-proc.ts";
import { rssBytes } from "./lib/machine.ts";

/** Start the built collector on `dbUrl` following `names`: held threads, ready time, RSS 10 s later. */
async function measure(dbUrl: string, names: readonly string[]) {
  const t0 = performance.now();
  const c = await startBenchCollector({
    dbUrl,
    targets: names.map((name, d) => ({ name, team: `team-${d % 20}`, url: "ws://127.0.0.1:1", token: null })),
    timeoutMs: 600_000,
  });
  const readyS = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 10_000));
  const rss = rssBytes(c.pid) / 2 ** 20;
  const listed = (await (await fetch(`${c.baseUrl}/api/v1/targets`)).json()) as { threads: number }[];
  const held = listed.reduce((a, t) => a + t.threads, 0);
  await c.stop();
  return { held, readyS, rss };
}

// --grown=<url>: the database seed-growth.ts seeded (5,000 developers `grown-<n>`, a year), as it is.
const grown = process.argv.find((a) => a.startsWith("--grown="))?.slice(8);
if (grown) {
  const r = await measure(
    grown,
    Array.from({ length: 5000 }, (_, d) => `grown-${d}`),
  );
  console.log(
    `seeded growth database: ${r.held} held, ready in ${r.readyS.toFixed(1)} s, RSS ${r.rss.toFixed(0)} MB`,
  );
  process.exit(0);
}

const targets = 1000;
const counts = process.argv.slice(2).find((a) => !a.startsWith("--")) ?? "0,250000,1000000";
const days = Number(process.argv.find((a) => a.startsWith("--days="))?.slice(7) ?? 365);
// Thread ids are UUIDv7-shaped and unique; last events evenly spread over `days`, the newest now.
for (const n of counts.split(",").map(Number)) {
  const tdb = await createTestDatabase({ fallbackToEmbedded: false });
  const db = createDb({ url: tdb.url, poolMax: 2 });
  await db.pool.query(
    `INSERT INTO target (id, team, url) SELECT 'dev-' || d, 'team-' || (d % 20), 'ws://127.0.0.1:1' FROM generate_series(0, $1::int - 1) d`,
    [targets],
  );
  if (n > 0)
    await db.pool.query(
      `INSERT INTO thread (id, target_id, status, last_event_at, cwd, repo, model) SELECT '019a0000-0000-7000-8000-' || lpad(to_hex(t), 12, '0'), 'dev-' || (t % $2::int), 'notLoaded', now() - (t * $3::float8 / $1::float8) * interval '1 day', '/home/dev/src/app', 'github.com/acme/app', 'gpt-5.4' FROM generate_series(1, $1::int) t`,
      [n, targets, days],
    );
  await db.pool.query("VACUUM ANALYZE thread");
  const { held, readyS, rss } = await measure(
    tdb.url,
    Array.from({ length: targets }, (_, d) => `dev-${d}`),
  );
  console.log(
    `threads ${n} over ${days} days: ${held} held, ready in ${readyS.toFixed(1)} s, RSS ${rss.toFixed(0)} MB`,
  );
  await db.close();
  await tdb.drop();
}
process.exit(0);
