/**
 * Runs the shipped collector — the compiled `dist/main.js`, exactly what `npm start` and the
 * image run — as a child process, and writes the config file it reads. The one launcher and the
 * one config writer of the repository: the fault drills, the demo, the soak and the bench all
 * start the collector through here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import type { ConfigFileSchema } from "./config/schema.ts";

/** The compiled entry point (`npm run build` makes it). */
export const COLLECTOR_ENTRY = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/main.js");
const LISTENING = "codex-fleet collector listening";
const MAX_OUTPUT_CHARS = 2_000_000;

/** A target of a written config: `token` goes to a token file (mode 0600), never into the config. */
export interface LaunchTarget {
  name: string;
  team?: string;
  url: string;
  token?: string | null;
  labels?: Record<string, string>;
  allowInsecure?: boolean;
}

/** The config file's keys (as a user writes them), with targets that carry their token. */
export type LaunchConfig = Omit<z.input<typeof ConfigFileSchema>, "targets"> & {
  targets?: readonly LaunchTarget[];
};

/**
 * Writes `config` as `fleet.json` into `dir` (default: a fresh temporary directory), each distinct
 * token into its own file beside it (mode 0600); returns the config file's path.
 */
export function writeConfigFile(config: LaunchConfig, dir?: string): string {
  const into = dir ?? mkdtempSync(join(tmpdir(), "codex-fleet-"));
  mkdirSync(into, { recursive: true, mode: 0o700 });
  const tokenFiles = new Map<string, string>();
  const targets = (config.targets ?? []).map(({ token, ...target }) => {
    if (token === null || token === undefined) return target;
    let file = tokenFiles.get(token);
    if (!file) {
      file = join(into, `token-${tokenFiles.size + 1}`);
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
      tokenFiles.set(token, file);
    }
    return { ...target, tokenFile: file };
  });
  const file = join(into, "fleet.json");
  writeFileSync(file, `${JSON.stringify({ ...config, targets }, null, 2)}\n`, { mode: 0o600 });
  return file;
}

export interface LaunchOptions {
  configFile: string;
  /** The collector's entry point (default COLLECTOR_ENTRY: this checkout's build). */
  entry?: string;
  /** Environment of the child (default: this process's, less what would override the config file). */
  env?: NodeJS.ProcessEnv;
  /** Node flags before the entry point, e.g. `--cpu-prof`. */
  nodeArgs?: readonly string[];
  /** Also append everything the child writes to this file. */
  logFile?: string;
  /** Called with every line at level error or above, and every line that is not JSON. */
  onErrorLine?: (line: string) => void;
  /** How long to wait for `/readyz` (default 120 s). */
  timeoutMs?: number;
  /**
   * Where it listens, when the config names a fixed port. Otherwise read from its info-level
   * "listening" log line, which a config with `logLevel: warn` or above never writes.
   */
  baseUrl?: string;
}

/** A running collector process. */
export interface CollectorProcess {
  readonly pid: number;
  /** `http://127.0.0.1:<port>` from its "listening" log line (port 0 in the config works). */
  readonly baseUrl: string;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What it wrote to stdout and stderr (JSON log lines), capped at 2 M characters. */
  output(): string;
  /** Its parsed JSON log lines with this `msg`. */
  logLines(msg: string): Record<string, unknown>[];
  kill(signal: NodeJS.Signals): void;
  /** GET a JSON path of its API; throws on an answer other than 200. */
  get<T>(path: string): Promise<T>;
  /** SIGTERM (it flushes and exits within its 10 s grace), SIGKILL after `graceMs` (default 15 s). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
let exitHook = false;

/** Start `node dist/main.js --config FILE`; resolves once it listens and `/readyz` answers 200. */
export async function launchCollector(o: LaunchOptions): Promise<CollectorProcess> {
  const entry = o.entry ?? COLLECTOR_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the collector first (npm run build)`);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
  const env = { ...(o.env ?? process.env) };
  // The config file says everything: an override from the caller's shell would win over it.
  for (const k of ["DATABASE_URL", "PORT", "HOST", "CODEX_FLEET_CONFIG", "INIT_CWD"]) delete env[k];
  env.LOG_FORMAT = "json";
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), entry, "--config", o.configFile], {
    cwd: dirname(o.configFile),
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const logFile = o.logFile ? createWriteStream(o.logFile, { flags: "a" }) : null;
  let output = "";
  let partial = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    logFile?.write(text);
    if (output.length < MAX_OUTPUT_CHARS) output += text;
    if (!o.onErrorLine) return;
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "" && isErrorLine(line)) o.onErrorLine(line);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => {
      running.delete(child);
      logFile?.end();
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
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };

  const timeoutMs = o.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let baseUrl = o.baseUrl ?? "";
  while (
    !baseUrl ||
    !(await fetch(`${baseUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (gone) throw new Error(`collector exited during start-up:\n${output.slice(-4000)}`);
    if (Date.now() > deadline) {
      kill("SIGKILL");
      throw new Error(`collector not ready after ${timeoutMs} ms:\n${output.slice(-4000)}`);
    }
    const listening = logLines(LISTENING)[0];
    if (typeof listening?.address === "string") baseUrl = listening.address;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid ?? 0,
    baseUrl,
    exited,
    output: () => output,
    logLines,
    kill,
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${baseUrl}${path}`);
      if (res.status !== 200) throw new Error(`${path} → ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
    async stop(graceMs = 15_000) {
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** A log line at level error (50) or above, or output that is not a JSON log line (a crash). */
function isErrorLine(line: string): boolean {
  try {
    return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50;
  } catch {
    return !/ExperimentalWarning|--trace-warnings|Unknown user config/.test(line);
  }
}
