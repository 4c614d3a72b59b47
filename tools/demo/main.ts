/**
 * `npm run demo`: a simulated team of developers, each with their own simulated codex
 * app-server (@codex-fleet/codex-fakes/simulator), and the real collector following them: the
 * compiled `dist/main.js` that `npm start` runs, started by the product's launcher (the npm
 * script builds it and the dashboard first).
 *
 * History: the simulated servers first replay the last days of work through the protocol, with
 * their clocks running fast and jumping over idle gaps, so each turn carries its real past
 * `emittedAtMs` and the collector attributes usage to the past hours it belongs to. Nothing is
 * written to the database except by the collector's own ingest of what it observed.
 *
 * `--verify[=SECONDS]` runs that long, pauses the developers and checks that the collector's
 * per-target totals equal the tokens the simulated servers served, and that the simulator saw no
 * violation (the collector must never answer a server request).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SimulatedFleet, startSimulatedFleet } from "@codex-fleet/codex-fakes/simulator";
import { type CollectorProcess, launchCollector, writeConfigFile } from "@codex-fleet/collector/launch";
import type { TargetView, UsageResponse } from "@codex-fleet/protocol/api";
import { DEMO_USAGE, type DemoArgs, parseDemoArgs } from "./args.ts";
import { demoCollectorConfig } from "./collector-config.ts";
import { compareTotals, fetchCountedByTarget, formatComparison } from "./verify.ts";

const log = (line: string): void => {
  process.stdout.write(`[demo] ${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const compact = (n: number): string =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)}B`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)}M`
      : n >= 1e3
        ? `${(n / 1e3).toFixed(1)}k`
        : `${n}`;

/** 8080 when free (the collector's default), otherwise whatever port the OS hands out. */
function pickPort(preferred: number | null): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => {
        const bound = (srv.address() as { port: number }).port;
        srv.close(() => resolve(bound));
      });
    });
  if (preferred !== null && preferred !== 0) return Promise.resolve(preferred);
  return preferred === 0 ? tryListen(0) : tryListen(8080).catch(() => tryListen(0));
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return (await res.json()) as T;
}

async function waitTargetsOpen(baseUrl: string, count: number, timeoutMs: number): Promise<TargetView[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const targets = await getJson<TargetView[]>(`${baseUrl}/api/v1/targets`).catch(() => []);
    if (targets.length === count && targets.every((t) => t.state === "open")) return targets;
    if (Date.now() > deadline) {
      const open = targets.filter((t) => t.state === "open").length;
      throw new Error(`only ${open}/${count} targets open after ${timeoutMs / 1000} s`);
    }
    await sleep(250);
  }
}

async function progress(fleet: SimulatedFleet, collector: CollectorProcess, fromMs: number): Promise<string> {
  const s = fleet.stats();
  const counted = await getJson<UsageResponse>(`${collector.baseUrl}/api/v1/usage?from=${fromMs}`)
    .then((u) => compact(u.totals.totalTokens))
    .catch(() => "?");
  const phase =
    s.liveDevelopers < fleet.servers.length
      ? `replaying history (${s.liveDevelopers}/${fleet.servers.length} live)`
      : "live";
  return `${phase} · ${s.turnsStarted} turns · ${s.threads} threads (${s.loadedThreads} loaded) · served ${compact(fleet.served.totalTokens)} tokens · collector counted ${counted}`;
}

/** Pause, let running turns end, then wait until the collector's totals match (missed ones arrive on unload). */
async function verify(fleet: SimulatedFleet, collector: CollectorProcess, fromMs: number): Promise<boolean> {
  log("verify: pausing the developers and waiting for running turns to end…");
  fleet.pause();
  await Promise.race([fleet.idle(), sleep(30_000)]);
  const deadline = Date.now() + 180_000;
  let rows = compareTotals(fleet.servedByServer, await fetchCountedByTarget(collector.baseUrl, fromMs));
  while (!rows.every((r) => r.equal) && Date.now() < deadline) {
    await sleep(2_000);
    rows = compareTotals(fleet.servedByServer, await fetchCountedByTarget(collector.baseUrl, fromMs));
  }
  const targets = await getJson<TargetView[]>(`${collector.baseUrl}/api/v1/targets`);
  log("verify: GET /api/v1/targets");
  for (const t of targets)
    log(`  ${t.name.padEnd(10)} ${t.team.padEnd(10)} ${t.state.padEnd(8)} threads ${t.threads}`);
  log("verify: simulator served vs collector counted (GET /api/v1/usage?groupBy=target)");
  for (const line of formatComparison(rows).split("\n")) log(`  ${line}`);
  const s = fleet.stats();
  log(`verify: ${s.turnsStarted} turns ${JSON.stringify(s.turnsByOutcome)}`);
  log(`verify: violations recorded by the simulator: ${fleet.violations.length}`);
  for (const v of fleet.violations.slice(0, 10)) log(`  ${JSON.stringify(v)}`);
  const allOpen = targets.length === fleet.servers.length && targets.every((t) => t.state === "open");
  const nonZero = rows.some((r) => r.counted.totalTokens > 0);
  const ok = allOpen && nonZero && rows.every((r) => r.equal) && fleet.violations.length === 0;
  log(ok ? "verify: OK" : "verify: FAILED");
  return ok;
}

async function main(): Promise<void> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${DEMO_USAGE}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(DEMO_USAGE);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "codex-fleet-demo-"));
  let fleet: SimulatedFleet | null = null;
  let collector: CollectorProcess | null = null;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log("shutting down…");
    await collector?.stop();
    await fleet?.close();
    if (args.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  try {
    const port = await pickPort(args.port);
    const startedAt = Date.now();
    const fromMs = startedAt - (args.historyDays + 1) * 86_400_000;
    fleet = await startSimulatedFleet({
      servers: args.developers,
      teams: args.teams,
      seed: args.seed,
      turnsPerMinute: args.turnsPerMinute,
      token: true,
      unloadAfterMs: args.unloadAfterMs,
      startPaused: true,
      ...(args.historyDays > 0 ? { history: { days: args.historyDays } } : {}),
    });
    log(
      `${fleet.servers.length} simulated app-servers listening (${fleet.servers[0]?.url} …), bearer tokens required`,
    );
    const databaseUrl = process.env.DATABASE_URL;
    const configFile = writeConfigFile(
      demoCollectorConfig({ dir, port, targets: fleet.servers, historyDays: args.historyDays, databaseUrl }),
      dir,
    );
    const database = databaseUrl ? "Postgres from DATABASE_URL" : `embedded PGlite in ${join(dir, "data")}`;
    log(`starting the collector: dist/main.js --config ${configFile} (${database})`);
    collector = await launchCollector({
      configFile,
      logFile: join(dir, "collector.log"),
      onErrorLine: (line) => log(`collector: ${line.slice(0, 500)}`),
      timeoutMs: 180_000,
    });
    void collector.exited.then(({ code, signal }) => {
      if (!stopping) {
        log(`the collector exited (${code ?? signal}); see ${join(dir, "collector.log")}`);
        void shutdown(1);
      }
    });
    await waitTargetsOpen(collector.baseUrl, fleet.servers.length, 60_000);
    fleet.resume();
    log(`dashboard: ${collector.baseUrl}/   (API: ${collector.baseUrl}/api/v1/targets)`);
    log(
      args.historyDays > 0
        ? `replaying ${args.historyDays} days of history through the protocol, then live; Ctrl-C to stop`
        : "developers are live; Ctrl-C to stop",
    );
    const liveFleet = fleet;
    const liveCollector = collector;
    const ticker = setInterval(() => {
      void progress(liveFleet, liveCollector, fromMs).then(log);
    }, 10_000);
    if (args.verifySeconds !== null) {
      await sleep(args.verifySeconds * 1000);
      clearInterval(ticker);
      const ok = await verify(liveFleet, liveCollector, fromMs);
      await shutdown(ok ? 0 : 1);
    }
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(1);
  }
}

void main();
