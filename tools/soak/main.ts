/**
 * Soak: the real collector process (the compiled `dist/main.js`, started by the product's
 * launcher) against N simulated app-servers for M minutes. Samples the collector's RSS and ingest
 * backlog from its own /metrics, then checks three things: RSS stays within ±10 % of its
 * post-warm-up level, the backlog does not grow, and at the end the collector's totals per target
 * equal what the simulated model served.
 *
 *   npm run soak -- --servers 1000 --minutes 10 [--warmup-minutes 2] [--turns-per-minute 1]
 *
 * Exits 0 when all three hold, 1 otherwise. Uses DATABASE_URL when set, else embedded PGlite.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSimulatedFleet } from "@codex-fleet/codex-fakes/simulator";
import { launchCollector, writeConfigFile } from "@codex-fleet/collector/launch";
import type { TargetView } from "@codex-fleet/protocol/api";
import { demoCollectorConfig } from "../demo/collector-config.ts";
import { compareTotals, fetchCountedByTarget } from "../demo/verify.ts";

interface SoakArgs {
  servers: number;
  minutes: number;
  warmupMinutes: number;
  turnsPerMinute: number;
  sampleSeconds: number;
  seed: number;
}

function parseArgs(argv: readonly string[]): SoakArgs {
  const out: SoakArgs = {
    servers: 1000,
    minutes: 10,
    warmupMinutes: 2,
    turnsPerMinute: 1,
    sampleSeconds: 10,
    seed: 7,
  };
  const keys: Record<string, keyof SoakArgs> = {
    "--servers": "servers",
    "--minutes": "minutes",
    "--warmup-minutes": "warmupMinutes",
    "--turns-per-minute": "turnsPerMinute",
    "--sample-seconds": "sampleSeconds",
    "--seed": "seed",
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] as string).split("=", 2) as [string, string | undefined];
    const key = keys[flag];
    if (!key) throw new Error(`unknown option ${flag} (known: ${Object.keys(keys).join(", ")})`);
    const value = Number(inline ?? argv[++i]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
    out[key] = value;
  }
  if (out.warmupMinutes >= out.minutes) throw new Error("--warmup-minutes must be less than --minutes");
  return out;
}

const log = (line: string) => process.stdout.write(`[soak] ${line}\n`);

/** One gauge value from Prometheus text. */
function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

interface Sample {
  atS: number;
  rssMb: number;
  backlog: number;
  turns: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "codex-fleet-soak-"));
  const fleet = await startSimulatedFleet({
    servers: args.servers,
    seed: args.seed,
    turnsPerMinute: args.turnsPerMinute,
    token: true,
    startPaused: true,
  });
  const configFile = writeConfigFile(
    demoCollectorConfig({
      dir,
      port: 0,
      targets: fleet.servers,
      historyDays: 0,
      databaseUrl: process.env.DATABASE_URL,
    }),
    dir,
  );
  const collector = await launchCollector({
    configFile,
    logFile: join(dir, "collector.log"),
    onErrorLine: (line) => log(`collector error: ${line.slice(0, 300)}`),
    timeoutMs: 180_000,
  });
  const startedAt = Date.now();
  try {
    log(`${args.servers} simulated app-servers; collector at ${collector.baseUrl}; waiting for all to open…`);
    for (;;) {
      const targets = (await (await fetch(`${collector.baseUrl}/api/v1/targets`)).json()) as TargetView[];
      const open = targets.filter((t) => t.state === "open").length;
      if (open === args.servers) break;
      if (Date.now() - startedAt > 300_000)
        throw new Error(`only ${open}/${args.servers} targets open after 5 min`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    log(`all open after ${((Date.now() - startedAt) / 1000).toFixed(1)} s; running for ${args.minutes} min`);
    fleet.resume();
    const runStart = Date.now();
    const samples: Sample[] = [];
    while (Date.now() - runStart < args.minutes * 60_000) {
      await new Promise((r) => setTimeout(r, args.sampleSeconds * 1000));
      const text = await (await fetch(`${collector.baseUrl}/metrics`)).text();
      const s: Sample = {
        atS: Math.round((Date.now() - runStart) / 1000),
        rssMb: gauge(text, "process_resident_memory_bytes") / 2 ** 20,
        backlog: gauge(text, "codex_fleet_ingest_backlog"),
        turns: fleet.stats().turnsStarted,
      };
      samples.push(s);
      log(`t=${s.atS}s rss=${s.rssMb.toFixed(1)} MB backlog=${s.backlog} turns=${s.turns}`);
    }
    fleet.pause();
    await fleet.idle();
    const warm = samples.filter((s) => s.atS >= args.warmupMinutes * 60);
    const base = median(warm.slice(0, Math.max(1, Math.floor(warm.length / 4))).map((s) => s.rssMb));
    const maxDev = Math.max(...warm.map((s) => Math.abs(s.rssMb - base) / base));
    const third = Math.max(1, Math.floor(warm.length / 3));
    const backlogEarly = median(warm.slice(0, third).map((s) => s.backlog));
    const backlogLate = median(warm.slice(-third).map((s) => s.backlog));
    // Let the last writes land, then compare totals.
    let comparison = compareTotals(
      fleet.servedByServer,
      await fetchCountedByTarget(collector.baseUrl, startedAt - 3_600_000),
    );
    for (let i = 0; i < 30 && !comparison.every((c) => c.equal); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      comparison = compareTotals(
        fleet.servedByServer,
        await fetchCountedByTarget(collector.baseUrl, startedAt - 3_600_000),
      );
    }
    const unequal = comparison.filter((c) => !c.equal).length;
    const served = comparison.reduce((s, c) => s + c.served.totalTokens, 0);
    const counted = comparison.reduce((s, c) => s + c.counted.totalTokens, 0);
    const rssOk = maxDev <= 0.1;
    const backlogOk = backlogLate <= Math.max(backlogEarly * 2, 50);
    const summary = {
      servers: args.servers,
      minutes: args.minutes,
      turns: fleet.stats().turnsStarted,
      rssAfterWarmupMb: Number(base.toFixed(1)),
      rssMaxDeviationPct: Number((maxDev * 100).toFixed(1)),
      rssPerTargetKb: Number(((base * 1024) / args.servers).toFixed(1)),
      backlogMedianEarly: backlogEarly,
      backlogMedianLate: backlogLate,
      servedTokens: served,
      countedTokens: counted,
      targetsWithUnequalTotals: unequal,
      violations: fleet.violations.length,
      pass: rssOk && backlogOk && unequal === 0 && fleet.violations.length === 0,
    };
    log(`summary ${JSON.stringify(summary)}`);
    log(
      `RSS ${rssOk ? "OK" : "FAIL"} (max ${summary.rssMaxDeviationPct}% from ${summary.rssAfterWarmupMb} MB), ` +
        `backlog ${backlogOk ? "OK" : "FAIL"} (${backlogEarly} → ${backlogLate}), ` +
        `totals ${unequal === 0 ? "OK" : "FAIL"} (${counted.toLocaleString("en-US")} of ${served.toLocaleString("en-US")}), ` +
        `violations ${fleet.violations.length}`,
    );
    process.exitCode = summary.pass ? 0 : 1;
  } finally {
    await collector.stop();
    await fleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`[soak] failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
