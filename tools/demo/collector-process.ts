/**
 * Runs the real collector exactly as `npm start` does (`src/main.ts --config FILE`), as a child
 * process whose output goes to a log file; errors are echoed. Stopped with SIGTERM (the
 * collector shuts down gracefully), SIGKILL if it takes longer than its own grace period.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const COLLECTOR_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface CollectorProcess {
  readonly baseUrl: string;
  readonly logFile: string;
  /** Resolves with the exit code when the process ends (for any reason). */
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
}

export interface StartCollectorOptions {
  configFile: string;
  port: number;
  logFile: string;
  /** Called with each log line at level error or above (pino level >= 50) and non-JSON output. */
  onError(line: string): void;
}

/** Spawn the collector; resolves once `/readyz` answers 200 (or rejects if it exits first). */
export async function startCollectorProcess(o: StartCollectorOptions): Promise<CollectorProcess> {
  const env = { ...process.env };
  // The config file names the port; a PORT/HOST from the caller's shell would override it.
  delete env.PORT;
  delete env.HOST;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--config", o.configFile], {
    cwd: COLLECTOR_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = createWriteStream(o.logFile, { flags: "a" });
  const forward = (chunk: Buffer): void => {
    log.write(chunk);
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        const level = (JSON.parse(line) as { level?: number }).level ?? 0;
        if (level >= 50) o.onError(line);
      } catch {
        if (!/ExperimentalWarning|--trace-warnings|Unknown user config/.test(line)) o.onError(line);
      }
    }
  };
  child.stdout?.on("data", forward);
  child.stderr?.on("data", forward);
  const exited = new Promise<number | null>((resolveExit) => {
    child.on("exit", (code) => {
      log.end();
      resolveExit(code);
    });
  });
  const baseUrl = `http://127.0.0.1:${o.port}`;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 180_000;
  while (!gone) {
    if (Date.now() > deadline) {
      await stopChild(child, exited);
      throw new Error(`collector not ready after 180 s (log: ${o.logFile})`);
    }
    const ok = await fetch(`${baseUrl}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (gone) throw new Error(`collector exited during start-up (log: ${o.logFile})`);
  return { baseUrl, logFile: o.logFile, exited, stop: () => stopChild(child, exited) };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  // main.ts gives itself 10 s to shut down; after that, stop waiting.
  const killer = setTimeout(() => child.kill("SIGKILL"), 12_000);
  await exited;
  clearTimeout(killer);
}
