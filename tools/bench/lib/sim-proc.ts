/** Parent side of sim-child.ts: start a simulated fleet in its own process and drive it. */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type {
  FleetStats,
  SimulatedFleetOptions,
  SimulatedTarget,
  WireTokenCounts,
} from "@codex-fleet/codex-fakes/simulator";
import type { SimRequest } from "./sim-child.ts";

/** A simulated fleet in a child process. */
export interface SimProcess {
  readonly pid: number;
  readonly servers: SimulatedTarget[];
  resume(): Promise<void>;
  pause(): Promise<void>;
  /** Resolves when no turn is running (after pause). */
  idle(): Promise<void>;
  stats(): Promise<FleetStats>;
  served(): Promise<{ served: WireTokenCounts; violations: number }>;
  close(): Promise<void>;
}

type Cmd = SimRequest["cmd"];

/** Fork the child and start the fleet in it. */
export async function startSimProcess(options: SimulatedFleetOptions): Promise<SimProcess> {
  const child: ChildProcess = fork(fileURLToPath(new URL("./sim-child.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx", "--max-old-space-size=8192"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on("message", (m: { id: number; result?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.result);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error("simulator process exited"));
    pending.clear();
  });
  const call = <T>(cmd: Cmd, extra: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, ...extra });
    });
  const servers = await call<SimulatedTarget[]>("start", { options });
  return {
    pid: child.pid ?? 0,
    servers,
    resume: () => call("resume"),
    pause: () => call("pause"),
    idle: () => call("idle"),
    stats: () => call("stats"),
    served: () => call("served"),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await call("close").catch(() => {});
      await exited;
      clearTimeout(killer);
    },
  };
}
