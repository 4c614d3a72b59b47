/**
 * The real collector as a child process (`node --import tsx src/main.ts --config FILE`, what
 * `npm start` runs), configured with the product's observer defaults, so that its RSS and CPU
 * are its own and the bench process's work never slows it down.
 */

import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/app-server.ts";
import { sleep, waitFor } from "./stats.ts";

const COLLECTOR_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A running collector process. */
export interface CollectorChild {
  readonly pid: number;
  readonly baseUrl: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 kB it wrote to stdout/stderr. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

/** A collector target. */
export interface BenchTarget {
  name: string;
  team: string;
  url: string;
  token: string | null;
}

/** The product defaults (config/schema.ts), so the bench measures what users run. */
const PRODUCT_OBSERVER = {
  idleUnsubscribeMs: 300_000,
  minBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  connectTimeoutMs: 10_000,
  pingIntervalMs: 30_000,
};

/** Start a collector following `targets`; resolves once `/readyz` answers. */
export async function startCollectorProcess(args: {
  dbUrl: string;
  targets: readonly BenchTarget[];
  observer?: Record<string, number>;
  extraYaml?: string;
  timeoutMs?: number;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}): Promise<CollectorChild> {
  const port = await freePort();
  const file = writeConfig(
    args.dbUrl,
    port,
    args.targets,
    { ...PRODUCT_OBSERVER, ...args.observer },
    args.extraYaml,
  );
  const env = { ...process.env };
  for (const k of ["DATABASE_URL", "PORT", "HOST", "CODEX_FLEET_CONFIG"]) delete env[k];
  // `node --import tsx` (not the tsx launcher) so that the pid is the collector's own process.
  const child = spawn(
    process.execPath,
    [...(args.nodeArgs ?? []), "--import", "tsx", "src/main.ts", "--config", file],
    {
      cwd: COLLECTOR_DIR,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-65_536);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.once("exit", () => kill("SIGKILL"));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (args.timeoutMs ?? 120_000);
  while (
    !(await fetch(`${baseUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (gone) throw new Error(`collector exited during start-up:\n${output.slice(-4000)}`);
    if (Date.now() > deadline) {
      kill("SIGKILL");
      throw new Error(`collector not ready in time:\n${output.slice(-4000)}`);
    }
    await sleep(50);
  }
  return { pid: child.pid ?? 0, baseUrl, exited, output: () => output, kill };
}

/** A YAML config in a fresh temp dir; targets sharing a token share one token file. */
function writeConfig(
  dbUrl: string,
  port: number,
  targets: readonly BenchTarget[],
  observer: Record<string, number>,
  extraYaml: string | undefined,
): string {
  const dir = mkdtempSync(join(tmpdir(), "fleet-bench-"));
  const tokenFiles = new Map<string, string>();
  const lines = [
    `server: { host: 127.0.0.1, port: ${port} }`,
    `database: { url: "${dbUrl}" }`,
    "logLevel: warn",
  ];
  lines.push(targets.length === 0 ? "targets: []" : "targets:");
  for (const t of targets) {
    lines.push(`  - { name: ${t.name}, team: ${t.team}, url: "${t.url}"`);
    if (t.token !== null) {
      let file = tokenFiles.get(t.token);
      if (!file) {
        file = join(dir, `token-${tokenFiles.size}`);
        writeFileSync(file, `${t.token}\n`, { mode: 0o600 });
        tokenFiles.set(t.token, file);
      }
      lines[lines.length - 1] += `, tokenFile: ${file}`;
    }
    lines[lines.length - 1] += " }";
  }
  lines.push("observer:", ...Object.entries(observer).map(([k, v]) => `  ${k}: ${v}`));
  if (extraYaml) lines.push(extraYaml);
  const file = join(dir, "fleet.yaml");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** Stop a collector child (SIGTERM: it flushes and exits; SIGKILL after `graceMs`). */
export async function stopCollectorProcess(child: CollectorChild, graceMs = 15_000): Promise<void> {
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Parse Prometheus text into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** GET /metrics of a collector. */
export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`);
  return parseMetrics(await res.text());
}

/** Wait until `n` targets are open; returns ms waited. */
export async function waitOpen(baseUrl: string, n: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await waitFor(
    async () =>
      (await scrape(baseUrl)).get('codex_fleet_connections{state="open"}') === n ? true : undefined,
    { timeoutMs, everyMs: 100, what: `${n} open connections` },
  );
  return performance.now() - t0;
}
