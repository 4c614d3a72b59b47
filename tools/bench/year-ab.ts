/**
 * Interleaved A/B of scenario year on one seeded database: collectors built from two checkouts
 * (e.g. main's and a branch's `apps/collector/dist/main.js`) take turns, `pairs` times, each timing
 * figures a-d. The database is seeded once (with this checkout's migrations; an older collector
 * warns about the newer migration and ignores its tables) and dropped at the end unless `--keep`.
 *
 *   node --conditions=source --import tsx bench/year-ab.ts --a=<main.js> --b=<main.js>
 *     [--developers=5000 --days=365 --pairs=3 --requests=20 --db=<url of a seeded database> --keep]
 */
import { freePort } from "@codex-fleet/codex-fakes/app-server";
import { launchCollector, writeConfigFile } from "@codex-fleet/collector/launch";
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import { load } from "./lib/machine.ts";
import { seedYear } from "./lib/seed-year.ts";
import { timeYear } from "./scenarios/year.ts";

const arg = (name: string, dflt?: string): string => {
  const hit = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!hit) {
    if (dflt === undefined) throw new Error(`--${name} is required`);
    return dflt;
  }
  return hit.includes("=") ? hit.slice(hit.indexOf("=") + 1) : "true";
};

async function startEntry(entry: string, dbUrl: string) {
  const port = await freePort();
  // The product's launcher, with another checkout's build as its entry point.
  return launchCollector({
    entry,
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 60_000,
    configFile: writeConfigFile({
      server: { host: "127.0.0.1", port },
      database: { url: dbUrl },
      logLevel: "warn",
      targets: [],
    }),
  });
}

async function main() {
  const developers = Number(arg("developers", "5000"));
  const days = Number(arg("days", "365"));
  const given = arg("db", "");
  const testDb = given ? null : await createTestDatabase();
  const url = given || (testDb?.url as string);
  const db = createDb({ url, poolMax: 2 });
  try {
    await run(url, db, given !== "", developers, days);
  } finally {
    await db.close();
    // A seeded year is tens of GB: a failed run drops it too, unless --keep=true.
    if (testDb && arg("keep", "") !== "true") await testDb.drop();
  }
}

async function run(
  url: string,
  db: ReturnType<typeof createDb>,
  given: boolean,
  developers: number,
  days: number,
) {
  const threadTurns = 2_000;
  let seed: { fromMs: number; toMs: number; threadId: string };
  if (given) {
    const { rows } = await db.pool.query<{ from: number; to: number }>(
      `SELECT (extract(epoch FROM min(day)) * 1000)::float8 AS from,
              (extract(epoch FROM max(last_event_at)) * 1000 + 60000)::float8 AS to
       FROM usage_daily, thread WHERE thread.id = 'year-long-thread'`,
    );
    seed = { fromMs: Number(rows[0]?.from), toMs: Number(rows[0]?.to), threadId: "year-long-thread" };
  } else {
    const s = await seedYear({
      pool: db.pool,
      developers,
      days,
      turnsPerKeyDay: 27,
      threadTurns,
      nowMs: Date.now(),
      log: (l) => process.stderr.write(`${l}\n`),
    });
    process.stdout.write(
      `seeded ${s.turns} turns, ${s.dailyRows} daily rows in ${(s.ms / 1000).toFixed(1)} s: ${url}\n`,
    );
    seed = s;
  }
  const pairs = Number(arg("pairs", "3"));
  const requests = Number(arg("requests", "20"));
  const entries = { a: arg("a"), b: arg("b") };
  for (let p = 0; p < pairs; p++) {
    for (const side of ["a", "b"] as const) {
      const c = await startEntry(entries[side], url);
      try {
        const t = await timeYear({ baseUrl: c.baseUrl, pool: db.pool, seed, threadTurns, requests });
        const line = [
          `pair ${p + 1} ${side}`,
          `a(30d page p95) ${t.month.pageP95Ms}`,
          `b(365d page p95) ${t.year.pageP95Ms}`,
          `c(day×target 4 teams top 7 p95) ${t.dayTarget.shapes[0]?.p95Ms}`,
          `(4 teams every row p95) ${t.dayTarget.shapes[1]?.p95Ms}`,
          `(every developer top 7 p95) ${t.dayTarget.shapes[2]?.p95Ms}`,
          `d(thread p95) ${t.thread.p95Ms}`,
          `load ${load().join(" ")}`,
        ].join(" | ");
        process.stdout.write(`${line}\n`);
        process.stdout.write(
          `  ${[...t.month.shapes, ...t.year.shapes, ...t.dayTarget.shapes].map((s) => `${s.name} p50 ${s.p50Ms} p95 ${s.p95Ms}`).join("; ")}\n`,
        );
      } finally {
        await c.stop();
      }
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
