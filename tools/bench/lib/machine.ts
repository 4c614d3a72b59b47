/**
 * What the bench ran on, and what a process costs: RSS and CPU time from /proc (Linux), load
 * averages, core count, memory, Node and Postgres versions.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";

/** The machine, for the report. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memTotalGiB: number;
  memFreeGiB: number;
  node: string;
  postgres: string;
  /** `free -h` as printed. */
  freeH: string;
  /** 1, 5 and 15 minute load averages when the bench started. */
  loadAtStart: number[];
}

/** Gather machine facts (postgres version passed in: the caller has a pool). */
export function machineInfo(postgres: string): MachineInfo {
  let freeH = "";
  try {
    freeH = execFileSync("free", ["-h"], { encoding: "utf8" }).trimEnd();
  } catch {
    freeH = "(free not available)";
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memTotalGiB: round(totalmem() / 2 ** 30, 1),
    memFreeGiB: round(freemem() / 2 ** 30, 1),
    node: process.version,
    postgres,
    freeH,
    loadAtStart: loadavg().map((l) => round(l, 2)),
  };
}

/** Current 1/5/15 min load averages, rounded. */
export const load = (): number[] => loadavg().map((l) => round(l, 2));

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export const TICKS_PER_SECOND = 100; // USER_HZ on Linux x86_64

/**
 * `/proc/<pid>/stat`: the command name and the fields after it (which start at field 3, `state`:
 * `fields[11]` is utime, then stime, cutime, cstime, in ticks). Throws when the process is gone.
 */
export function procStat(pid: number | string): { comm: string; fields: string[] } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces and parentheses: it ends at the last ')'.
  const close = stat.lastIndexOf(")");
  return { comm: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
}

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const { fields } = procStat(pid);
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU used by `pid` over `ms`, as a percentage of one core. */
export async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const used = cpuSeconds(pid) - c0;
  return (100 * used) / ((performance.now() - t0) / 1000);
}

/** Round to `digits` decimals. */
export function round(x: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
