/**
 * What a restart costs with history stored (issue 13, session 13): the built collector following
 * 1,000 targets (pointing where nothing listens) on a database that already stores N threads of
 * theirs, `notLoaded`, newest first. Prints the time to /readyz and the RSS 10 s later. At start
 * the collector loads the newest 50,000 threads of every target (fleet.ts MAX_THREADS_PER_TARGET),
 * so both grow with the stored history, not with what is live.
 *
 *   node --conditions=source --import tsx bench/stored-threads.ts [0,250000,1000000]
 */
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { startBenchCollector } from "./lib/collector-proc.ts";
import { rssBytes } from "./lib/machine.ts";

const targets = 1000;
// Thread ids are UUIDv7-shaped and unique; last events one second apart, the newest now.
for (const n of (process.argv[2] ?? "0,250000,1000000").split(",").map(Number)) {
  const tdb = await createTestDatabase({ fallbackToEmbedded: false });
  const db = createDb({ url: tdb.url, poolMax: 2 });
  await db.pool.query(
    `INSERT INTO target (id, team, url) SELECT 'dev-' || d, 'team-' || (d % 20), 'ws://127.0.0.1:1' FROM generate_series(0, $1::int - 1) d`,
    [targets],
  );
  if (n > 0)
    await db.pool.query(
      `INSERT INTO thread (id, target_id, status, last_event_at, cwd, repo, model) SELECT '019a0000-0000-7000-8000-' || lpad(to_hex(t), 12, '0'), 'dev-' || (t % $2::int), 'notLoaded', now() - (t || ' seconds')::interval, '/home/dev/src/app', 'github.com/acme/app', 'gpt-5.4' FROM generate_series(1, $1::int) t`,
      [n, targets],
    );
  await db.pool.query("VACUUM ANALYZE thread");
  const t0 = performance.now();
  const c = await startBenchCollector({
    dbUrl: tdb.url,
    targets: Array.from({ length: targets }, (_, d) => ({
      name: `dev-${d}`,
      team: `team-${d % 20}`,
      url: "ws://127.0.0.1:1",
      token: null,
    })),
    timeoutMs: 600_000,
  });
  const readyS = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 10_000));
  const rss = rssBytes(c.pid) / 2 ** 20;
  console.log(`threads ${n}: ready in ${readyS.toFixed(1)} s, RSS ${rss.toFixed(0)} MB`);
  await c.stop();
  await db.close();
  await tdb.drop();
}
process.exit(0);
