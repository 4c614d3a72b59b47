/**
 * Interleaved A/B of figure 9e (scenario year): collectors built from two checkouts take turns,
 * `pairs` times, on one database seeded once with `targets` targets x 10 threads; each times
 * `connects` opens of /api/v1/live up to the snapshot parsed.
 *
 *   node --conditions=source --import tsx bench/live-snapshot-ab.ts --a=<main.js> --b=<main.js>
 *     [--targets=5000 --pairs=3 --connects=10 --prof-dir=DIR --sides=ab]
 *
 * --prof-dir: each collector runs with `--cpu-prof` and writes its profile there when stopped.
 * --sides: which sides run in each pair (default both, in the order given).
 */
import { freePort } from "@codex-fleet/codex-fakes/app-server";
import { launchCollector, writeConfigFile } from "@codex-fleet/collector/launch";
import { createDb } from "@codex-fleet/db/client";
import { createTestDatabase } from "@codex-fleet/db/testing";
import type { BenchTarget } from "./lib/collector-proc.ts";
import { load } from "./lib/machine.ts";
import { seedLiveFleet } from "./lib/seed-live-fleet.ts";
import { sleep } from "./lib/stats.ts";
import { timeLiveSnapshot } from "./scenarios/year.ts";

const arg = (name: string, dflt: string): string => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(hit.indexOf("=") + 1) : dflt;
};

async function startEntry(entry: string, dbUrl: string, targets: BenchTarget[]) {
  const port = await freePort();
  const profDir = arg("prof-dir", "");
  // The product's launcher, with another checkout's build as its entry point.
  return launchCollector({
    entry,
    nodeArgs: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 120_000,
    configFile: writeConfigFile({
      server: { host: "127.0.0.1", port },
      database: { url: dbUrl },
      logLevel: "warn",
      targets,
      observer: { minBackoffMs: 1_000, maxBackoffMs: 60_000, connectTimeoutMs: 10_000 },
    }),
  });
}

async function main() {
  const testDb = await createTestDatabase();
  const db = createDb({ url: testDb.url, poolMax: 2 });
  try {
    const seed = await seedLiveFleet({
      pool: db.pool,
      targets: Number(arg("targets", "5000")),
      threadsPerTarget: 10,
      nowMs: Date.now(),
    });
    process.stdout.write(
      `seeded ${seed.targets.length} targets, ${seed.threads} threads in ${Math.round(seed.ms)} ms\n`,
    );
    const entries = { a: arg("a", ""), b: arg("b", "") };
    const sides = [...arg("sides", "ab")].filter((s): s is "a" | "b" => s === "a" || s === "b");
    for (let p = 0; p < Number(arg("pairs", "3")); p++) {
      for (const side of sides) {
        const c = await startEntry(entries[side], testDb.url, seed.targets);
        try {
          await sleep(5_000);
          const t = await timeLiveSnapshot({
            baseUrl: c.baseUrl,
            targets: seed.targets.length,
            threads: seed.threads,
            connects: Number(arg("connects", "10")),
          });
          process.stdout.write(
            `pair ${p + 1} ${side} | e p50 ${t.p50Ms} p95 ${t.p95Ms} max ${t.maxMs} ms | ${t.snapshotThreads} threads carried, ${t.snapshotBytes} bytes | load ${load().join(" ")}\n`,
          );
        } finally {
          await c.stop();
        }
      }
    }
  } finally {
    await db.close();
    await testDb.drop();
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
