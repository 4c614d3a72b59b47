/**
 * Where a run's CPU went, from /proc (Linux): the whole machine's busy time, every Postgres
 * process's, the bench process's own (the replay server runs in it) and any process named by pid.
 * The ingest bench reports it beside its rates, so a ratio between two rates can be read against
 * the CPU each one needed: on a machine whose cores are all busy, a faster rate needs less CPU per
 * turn, not more threads.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { cpuSeconds, procStat, round, TICKS_PER_SECOND } from "./machine.ts";

/** Every core's busy seconds so far: user, nice, system, irq, softirq and steal (not idle, iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    TICKS_PER_SECOND
  );
}

/**
 * CPU seconds of every process named `postgres`, with the children each has reaped (a backend
 * that exits during the run is counted in its postmaster's).
 */
export function postgresCpuSeconds(): number {
  let ticks = 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: ReturnType<typeof procStat>;
    try {
      stat = procStat(name);
    } catch {
      continue; // gone since the listing
    }
    if (stat.comm !== "postgres") continue;
    const f = stat.fields;
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** The CPU of one measured stretch, in seconds. */
export interface CpuAccount {
  wallSeconds: number;
  /** Busy seconds of every core together, over `cores × wallSeconds` available. */
  machineBusySeconds: number;
  cores: number;
  /** `machineBusySeconds / (cores × wallSeconds)`. */
  machineBusyShare: number;
  /** Every Postgres process: the measured writes, and the bench's own checks of what is counted. */
  postgresSeconds: number;
  /** This process: the replay server and the bench's own polling. */
  benchSeconds: number;
  /** The measured process (the collector, or the bare client). */
  subjectSeconds: number;
}

/** Start counting; the returned function ends the stretch and gives its account. */
export function startCpuAccount(subjectPid: number): () => CpuAccount {
  const t0 = performance.now();
  const m0 = machineBusySeconds();
  const p0 = postgresCpuSeconds();
  const b0 = process.cpuUsage();
  const s0 = cpuSeconds(subjectPid);
  return () => {
    const wallSeconds = (performance.now() - t0) / 1000;
    const busy = machineBusySeconds() - m0;
    const b = process.cpuUsage(b0);
    const cores = cpus().length;
    return {
      wallSeconds: round(wallSeconds, 2),
      machineBusySeconds: round(busy, 2),
      cores,
      machineBusyShare: round(busy / (cores * wallSeconds), 3),
      postgresSeconds: round(postgresCpuSeconds() - p0, 2),
      benchSeconds: round((b.user + b.system) / 1e6, 2),
      subjectSeconds: round(cpuSeconds(subjectPid) - s0, 2),
    };
  };
}
