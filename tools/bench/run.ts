/**
 * `npm run bench [-- --quick] [-- --only=fleet,ingest,live,query,footprint,takeover,activity,year,growth]`: runs every
 * scenario of issue #5, writes tools/bench/results/<timestamp>.json and .md, and prints the table.
 * Every speed is a ratio against a limit measured in the same run (see each scenario's header).
 * `--quick` uses small sizes and finishes in under two minutes. Profiling aids (ingest):
 * BENCH_PROFILE_DIR=<dir> (collector CPU profile), BENCH_SLOWLOG=<ms> (slow statements in the
 * Postgres log). A/B of two builds under the same bench code: BENCH_COLLECTOR_ENTRY=<another
 * checkout's apps/collector/dist/main.js> (every scenario that starts a collector process).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createDb } from "@codex-fleet/db/client";
import { DEFAULT_TEST_SERVER_URL } from "@codex-fleet/db/testing";
import { load, machineInfo } from "./lib/machine.ts";
import { type BenchRun, renderMachine, renderTable } from "./lib/report.ts";
import { runActivity } from "./scenarios/activity.ts";
import { runClusterLiveLatency } from "./scenarios/cluster-live-latency.ts";
import { runFleetSize } from "./scenarios/fleet-size.ts";
import { runFootprint } from "./scenarios/footprint.ts";
import { runGrowth } from "./scenarios/growth.ts";
import { runIngest } from "./scenarios/ingest.ts";
import { runLiveLatency } from "./scenarios/live-latency.ts";
import { runQuery } from "./scenarios/query.ts";
import { runRetention } from "./scenarios/retention.ts";
import { runTakeover } from "./scenarios/takeover.ts";
import { runYear } from "./scenarios/year.ts";

const SCENARIOS = [
  "fleet",
  "ingest",
  "live",
  "cluster-live",
  "query",
  "footprint",
  "takeover",
  "retention",
  "activity",
  "year",
  "growth",
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Sizes per mode. */
const PLAN = {
  quick: {
    fleet: {
      sizes: [100, 1_000],
      settleMs: 2_000,
      sampleMs: 3_000,
      idleMs: 15_000,
      activeMs: 5_000,
      activeTurnsPerMinute: 1,
    },
    ingest: { servers: 100, days: 2, turnsPerDay: 40, bareClientRuns: 2 },
    live: { servers: 100, turnsPerMinute: 6, warmupMs: 3_000, measureMs: 10_000 },
    clusterLive: { servers: 100, turnsPerMinute: 6, warmupMs: 3_000, measureMs: 10_000 },
    query: { developers: 100, days: 30, turns: 1_000_000, requests: 10 },
    activity: { developers: 100, days: 30, requests: 10 },
    year: {
      developers: 500,
      days: 90,
      turnsPerKeyDay: 27,
      threadTurns: 2_000,
      requests: 10,
      liveTargets: 500,
      liveThreadsPerTarget: 10,
      liveConnects: 5,
    },
    footprint: { turns: 4 },
    takeover: { servers: 300, leaseTtlMs: 15_000, settleMs: 5_000, sampleMs: 5_000 },
    retention: { servers: 100, days: 2, turnsPerDay: 40, oldRows: 300_000 },
    growth: { servers: 100, days: 2, turnsPerDay: 40, storedTurns: 1_000_000, chunk: 250_000 },
  },
  full: {
    fleet: {
      sizes: [100, 1_000, 5_000, 10_000],
      settleMs: 5_000,
      sampleMs: 10_000,
      idleMs: 30_000,
      activeMs: 20_000,
      activeTurnsPerMinute: 1,
    },
    ingest: { servers: 200, days: 3, turnsPerDay: 60, bareClientRuns: 3 },
    live: { servers: 1_000, turnsPerMinute: 2, warmupMs: 10_000, measureMs: 60_000 },
    clusterLive: { servers: 1_000, turnsPerMinute: 2, warmupMs: 10_000, measureMs: 60_000 },
    query: { developers: 1_000, days: 30, turns: 10_000_000, requests: 30 },
    activity: { developers: 1_000, days: 30, requests: 30 },
    year: {
      developers: 5_000,
      days: 365,
      turnsPerKeyDay: 27,
      threadTurns: 2_000,
      requests: 20,
      liveTargets: 5_000,
      liveThreadsPerTarget: 10,
      liveConnects: 10,
    },
    footprint: { turns: 10 },
    takeover: { servers: 5_000, leaseTtlMs: 15_000, settleMs: 30_000, sampleMs: 15_000 },
    retention: { servers: 200, days: 3, turnsPerDay: 60, oldRows: 1_000_000 },
    // The goal's 100 M stored turns take ≈ 60 GB and a long seed: BENCH_GROWTH_TURNS=100000000.
    growth: { servers: 200, days: 3, turnsPerDay: 60, storedTurns: 10_000_000 },
  },
};

function parseArgs(argv: string[]): { mode: "quick" | "full"; only: Set<Scenario> } {
  let mode: "quick" | "full" = "full";
  let only = new Set<Scenario>(SCENARIOS);
  for (const a of argv) {
    if (a === "--quick") mode = "quick";
    else if (a.startsWith("--only=")) {
      const wanted = a.slice("--only=".length).split(",");
      for (const w of wanted)
        if (!(SCENARIOS as readonly string[]).includes(w))
          throw new Error(`--only: '${w}' is not one of ${SCENARIOS.join(", ")}`);
      only = new Set(wanted as Scenario[]);
    } else if (a !== "--")
      throw new Error(`unknown argument '${a}' (use --quick, --only=${SCENARIOS.join(",")})`);
  }
  return { mode, only };
}

async function postgresVersion(): Promise<string> {
  const db = createDb({ url: process.env.TEST_DATABASE_URL || DEFAULT_TEST_SERVER_URL, poolMax: 1 });
  try {
    const { rows } = await db.pool.query<{ v: string }>("SELECT version() AS v");
    return (rows[0]?.v ?? "unknown").split(" on ")[0] ?? "unknown";
  } finally {
    await db.close();
  }
}

/** `--render=FILE`: print the markdown of a results JSON again (after a change to the report). */
function render(file: string): void {
  // npm runs the script in tools/; a relative FILE is relative to where the user typed the command.
  const path = resolve(process.env.INIT_CWD ?? process.cwd(), file);
  const run = JSON.parse(readFileSync(path, "utf8")) as BenchRun;
  process.stdout.write(`## codex-fleet bench (${run.mode})\n\n${renderTable(run)}\n${renderMachine(run)}\n`);
}

async function main(): Promise<void> {
  const renderArg = process.argv.find((a) => a.startsWith("--render="));
  if (renderArg) {
    render(renderArg.slice("--render=".length));
    return;
  }
  const { mode, only } = parseArgs(process.argv.slice(2));
  const plan = PLAN[mode];
  const started = Date.now();
  const run: BenchRun = {
    startedAt: new Date(started).toISOString(),
    mode,
    machine: machineInfo(await postgresVersion()),
    loadAtEnd: [],
    durationMs: 0,
    errors: {},
  };
  const step = async <T>(name: Scenario, fn: () => Promise<T>, set: (r: T) => void) => {
    if (!only.has(name)) return;
    const t0 = Date.now();
    process.stderr.write(`bench: ${name}…\n`);
    try {
      set(await fn());
    } catch (err) {
      run.errors[name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`bench: ${name} failed: ${run.errors[name]}\n`);
    }
    process.stderr.write(`bench: ${name} took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  };
  await step(
    "fleet",
    () => runFleetSize(plan.fleet),
    (r) => {
      run.fleetSize = r;
    },
  );
  // Profiling aid: BENCH_PROFILE_DIR=<dir> writes the ingest collector's CPU profile there.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const ingestPlan = profileDir
    ? { ...plan.ingest, collectorNodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] }
    : plan.ingest;
  await step(
    "ingest",
    () => runIngest(ingestPlan),
    (r) => {
      run.ingest = r;
    },
  );
  await step(
    "live",
    () => runLiveLatency(plan.live),
    (r) => {
      run.liveLatency = r;
    },
  );
  await step(
    "cluster-live",
    () => runClusterLiveLatency(plan.clusterLive),
    (r) => {
      run.clusterLiveLatency = r;
    },
  );
  await step(
    "query",
    () => runQuery(plan.query),
    (r) => {
      run.query = r;
    },
  );
  await step(
    "footprint",
    () => runFootprint(plan.footprint),
    (r) => {
      run.footprint = r;
    },
  );
  await step(
    "takeover",
    () => runTakeover(plan.takeover),
    (r) => {
      run.takeover = r;
    },
  );
  await step(
    "retention",
    () => runRetention(plan.retention),
    (r) => {
      run.retention = r;
    },
  );
  await step(
    "activity",
    () => runActivity(plan.activity),
    (r) => {
      run.activity = r;
    },
  );
  await step(
    "year",
    () => runYear(plan.year),
    (r) => {
      run.year = r;
    },
  );
  // BENCH_GROWTH_TURNS=<n> overrides the stored turns of scenario growth (issue 13 goal 3: 100 M);
  // BENCH_GROWTH_DB=<url>: a database seed-growth.ts seeded with them, used instead of seeding.
  const grownTurns = Number(process.env.BENCH_GROWTH_TURNS ?? "");
  const seededUrl = process.env.BENCH_GROWTH_DB || undefined;
  await step(
    "growth",
    () =>
      runGrowth({
        ...plan.growth,
        ...(Number.isInteger(grownTurns) && grownTurns > 0 ? { storedTurns: grownTurns } : {}),
        ...(seededUrl ? { seededUrl } : {}),
      }),
    (r) => {
      run.growth = r;
    },
  );
  run.durationMs = Date.now() - started;
  run.loadAtEnd = load();

  const dir = join(dirname(fileURLToPath(import.meta.url)), "results");
  mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, "-");
  const markdown = `## codex-fleet bench (${mode})\n\n${renderTable(run)}\n${renderMachine(run)}\n`;
  writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(dir, `${stamp}.md`), markdown);
  process.stdout.write(`${markdown}\nresults: ${join(dir, `${stamp}.json`)}\n`);
  process.exit(Object.keys(run.errors).length > 0 ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
