/**
 * The real collector as a child process (`node --import tsx src/main.ts --config FILE`, what
 * `npm start` runs), for faults that only a process has: SIGKILL, SIGTERM and its exit code.
 * `node --import tsx` rather than the `tsx` launcher, because the launcher runs the program in a
 * second process: a SIGKILL to the launcher would orphan the real collector instead of killing it.
 * The config is a YAML file with token files, on port 0; the listen address comes from the
 * "collector listening" log line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const COLLECTOR_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAX_OUTPUT_CHARS = 2_000_000;

/** One target of the generated config. */
export interface ChildTarget {
  name: string;
  team?: string;
  url: string;
  token: string | null;
}

/** What goes into the generated config file. */
export interface ChildConfig {
  dbUrl: string;
  targets: ChildTarget[];
  observer?: Record<string, number>;
  /** Appended verbatim (e.g. an `alerts:` section). */
  extraYaml?: string;
  logLevel?: string;
}

/** Write a YAML config (and token files) into a fresh temp dir; returns the config file's path. */
export function writeChildConfig(cfg: ChildConfig): string {
  const dir = mkdtempSync(join(tmpdir(), "fleet-child-"));
  const lines = ["server: { host: 127.0.0.1, port: 0 }", `database: { url: "${cfg.dbUrl}" }`, "targets:"];
  for (const t of cfg.targets) {
    lines.push(`  - name: ${t.name}`, `    team: ${t.team ?? "core"}`, `    url: ${t.url}`);
    if (t.token !== null) {
      const file = join(dir, `${t.name}.token`);
      writeFileSync(file, `${t.token}\n`, { mode: 0o600 });
      lines.push(`    tokenFile: ${file}`);
    }
  }
  const observer = {
    idleUnsubscribeMs: 2000,
    minBackoffMs: 100,
    maxBackoffMs: 1000,
    connectTimeoutMs: 5000,
    pingIntervalMs: 5000,
    ...cfg.observer,
  };
  lines.push("observer:", ...Object.entries(observer).map(([k, v]) => `  ${k}: ${v}`));
  lines.push(`logLevel: ${cfg.logLevel ?? "info"}`);
  if (cfg.extraYaml) lines.push(cfg.extraYaml);
  const file = join(dir, "fleet.yaml");
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** A running collector process. */
export interface CollectorChild {
  readonly pid: number;
  readonly baseUrl: string;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it wrote to stdout and stderr (its JSON log lines), capped. */
  output(): string;
  /** Parsed JSON log lines with this `msg`. */
  logLines(msg: string): Record<string, unknown>[];
  kill(signal: NodeJS.Signals): void;
  /** GET a JSON path of its HTTP API (throws on a non-200 answer). */
  get<T>(path: string): Promise<T>;
}

const live = new Set<ChildProcess>();
let hookInstalled = false;

/** Start the collector; resolves once it listens and `/readyz` answers 200. */
export async function spawnCollector(configFile: string, timeoutMs = 60_000): Promise<CollectorChild> {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  const env = { ...process.env };
  // The config file says everything; an override from the caller's shell would win over it.
  for (const k of ["DATABASE_URL", "PORT", "HOST", "CODEX_FLEET_CONFIG"]) delete env[k];
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--config", configFile], {
    cwd: COLLECTOR_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let output = "";
  const append = (chunk: Buffer) => {
    if (output.length < MAX_OUTPUT_CHARS) output += chunk.toString("utf8");
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => {
      live.delete(child);
      r({ code, signal });
    }),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const logLines = (msg: string) =>
    output.split("\n").flatMap((line) => {
      if (!line.startsWith("{")) return [];
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        return parsed.msg === msg ? [parsed] : [];
      } catch {
        return [];
      }
    });

  const deadline = Date.now() + timeoutMs;
  let baseUrl = "";
  while (
    !baseUrl ||
    !(await fetch(`${baseUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (gone) throw new Error(`collector exited during start-up:\n${output.slice(-4000)}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`collector not ready after ${timeoutMs} ms:\n${output.slice(-4000)}`);
    }
    const listening = logLines("codex-fleet collector listening")[0];
    if (typeof listening?.address === "string") baseUrl = listening.address;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid ?? 0,
    baseUrl,
    exited,
    output: () => output,
    logLines,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${baseUrl}${path}`);
      if (res.status !== 200) throw new Error(`${path} → ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  };
}
