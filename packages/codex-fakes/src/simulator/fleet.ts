/**
 * `startSimulatedFleet`: N simulated codex app-servers 0.169.0 in one process, each driven by a
 * simulated developer, all sharing one scheduler. Ground truth for tests and the demo: every
 * token served (per server, per thread) and every violation of the observer's rules.
 */
import { randomBytes } from "node:crypto";
import { DEFAULT_NAMES, DEFAULT_TEAMS } from "./catalog.ts";
import { SimClock } from "./clock.ts";
import { DEFAULT_OUTCOMES, Developer, type Gate, type HistoryOptions } from "./developer.ts";
import { pickPlan } from "./plan.ts";
import { createPrng } from "./prng.ts";
import { Scheduler } from "./scheduler.ts";
import { SimServer } from "./sim-server.ts";
import type { Violation } from "./state.ts";
import { type ListenMode, startTransport } from "./transport.ts";
import type { Outcome } from "./turn-scripts.ts";
import { addCounts, copyCounts, type WireTokenCounts, zeroCounts } from "./usage.ts";

export type { Violation } from "./state.ts";
export type { Outcome } from "./turn-scripts.ts";
export { type WireTokenCounts, zeroCounts } from "./usage.ts";

export interface SimulatedFleetOptions {
  /** How many simulated app-servers (one developer each). */
  servers: number;
  /** Developer (= target) names; defaults to alice, bob, … then dev-0001, … */
  names?: readonly string[];
  /** Teams, assigned round-robin; defaults to payments, platform, mobile. */
  teams?: readonly string[];
  seed: number | string;
  /** Mean turns each developer starts per minute when live. */
  turnsPerMinute: number;
  /** Bearer token: one for every server, `true` for a random token per server, omitted for none. */
  token?: string | true;
  /** Unload idle threads without subscribers after this many ms (0.169.0: 60 000). */
  unloadAfterMs?: number;
  /** Developers wait for `resume()` before their first turn. */
  startPaused?: boolean;
  /** Replay past days (accelerated) before going live. */
  history?: {
    days: number;
    turnsPerDay?: number;
    speed?: number;
    minStepMs?: number;
    /** Where the history ends (default: 15 minutes ago); it starts `days` before. */
    endMs?: number;
  };
  /** Relative weights of turn outcomes (missing ones keep the default). */
  outcomes?: Partial<Record<Outcome, number>>;
  /** `perServer` (default up to 200 servers) or `shared` (a port per 1,000 servers, path /s/<i>). */
  listen?: ListenMode;
  /** Answer requests after this many ms; with `maxInFlightRequests`, overload answers -32001. */
  responseDelayMs?: number;
  maxInFlightRequests?: number;
  host?: string;
  /**
   * Developers on ChatGPT plans (issue 14): by default 3 in 4 have one (plus, team or pro: windows
   * in their updates and reads), the rest an API key (null windows, the read refused). `false`:
   * every developer uses an API key.
   */
  plans?: boolean;
}

/** One simulated server as a collector target. */
export interface SimulatedTarget {
  name: string;
  team: string;
  url: string;
  token: string | null;
}

/** Counters of what the developers did. */
export interface FleetStats {
  turnsStarted: number;
  turnsByOutcome: Record<Outcome, number>;
  busyDevelopers: number;
  liveDevelopers: number;
  threads: number;
  loadedThreads: number;
  connections: number;
  scheduled: number;
}

export interface SimulatedFleet {
  servers: SimulatedTarget[];
  /** Everything served by every server. */
  readonly served: WireTokenCounts;
  /** Per server name. */
  readonly servedByServer: Map<string, WireTokenCounts>;
  /** Per thread id (a thread's cumulative total is exactly what was served on it). */
  readonly servedByThread: Map<string, WireTokenCounts>;
  /** Client misbehaviour seen (answers to server requests, mutating requests): must stay empty. */
  readonly violations: Violation[];
  /** Resolves when every developer finished replaying history. */
  readonly historyDone: Promise<void>;
  stats(): FleetStats;
  /** Developers stop starting turns (running turns finish). */
  pause(): void;
  resume(): void;
  /** Resolves when no turn is running (use after pause). */
  idle(pollMs?: number): Promise<void>;
  /**
   * Every idle developer closes the editor (use after pause and idle): their threads are released
   * and unload `unloadAfterMs` after the last client left them, as app-server does.
   */
  leave(): void;
  /** The underlying servers (tests). */
  readonly simServers: readonly SimServer[];
  close(): Promise<void>;
}

const PLATFORMS = [
  "Debian 12.0.0; x86_64) xterm",
  "Mac OS 15.5.0; arm64) vscode/1.104.0",
  "Ubuntu 24.4.0; x86_64) vscode/1.104.0",
];

function nameAt(i: number, names: readonly string[] | undefined): string {
  const given = names?.[i];
  if (given) return given;
  if (!names && i < DEFAULT_NAMES.length) return DEFAULT_NAMES[i] as string;
  return `dev-${String(i + 1).padStart(4, "0")}`;
}

/** Start the fleet: every endpoint is listening when this resolves. */
export async function startSimulatedFleet(options: SimulatedFleetOptions): Promise<SimulatedFleet> {
  const root = createPrng(options.seed);
  const teams = options.teams && options.teams.length > 0 ? options.teams : DEFAULT_TEAMS;
  const violations: Violation[] = [];
  const scheduler = new Scheduler(Date.now, (err) => {
    process.emitWarning(
      `simulator task failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  });
  let paused = options.startPaused === true;
  let closed = false;
  let wake: (() => void) | null = null;
  let woken: Promise<void> = new Promise((r) => {
    wake = r;
  });
  const gate: Gate = {
    get paused() {
      return paused;
    },
    get closed() {
      return closed;
    },
    waitUntilResumed: () => woken,
  };
  const outcomes = { ...DEFAULT_OUTCOMES, ...options.outcomes };
  const turnsByOutcome = Object.fromEntries(Object.keys(outcomes).map((k) => [k, 0])) as Record<
    Outcome,
    number
  >;
  let turnsStarted = 0;
  const historyEndMs = options.history?.endMs ?? Date.now() - 15 * 60_000;
  const history: HistoryOptions | null = options.history
    ? {
        fromMs: historyEndMs - options.history.days * 86_400_000,
        toMs: historyEndMs,
        turnsPerDay: options.history.turnsPerDay ?? 24,
        speed: options.history.speed ?? 150,
        minStepMs: options.history.minStepMs ?? 25,
      }
    : null;

  const sims: SimServer[] = [];
  const developers: Developer[] = [];
  const targets: Omit<SimulatedTarget, "url">[] = [];
  for (let i = 0; i < options.servers; i++) {
    const name = nameAt(i, options.names);
    const team = teams[i % teams.length] as string;
    const prng = root.fork(i);
    const token = options.token === true ? randomBytes(24).toString("base64url") : (options.token ?? null);
    const server = new SimServer({
      name,
      team,
      token,
      prng: prng.fork("server"),
      // With history the clock starts in the past: it never runs backwards, only jumps forward.
      clock: new SimClock(Date.now, history?.fromMs),
      scheduler,
      unloadAfterMs: options.unloadAfterMs ?? 60_000,
      responseDelayMs: options.responseDelayMs ?? 0,
      maxInFlightRequests: options.maxInFlightRequests ?? Number.POSITIVE_INFINITY,
      originator: "codex_vscode",
      platform: prng.pick(PLATFORMS),
      codexHome: `/home/${name}/.codex`,
      plan: options.plans === false ? null : pickPlan(prng.fork("plan")),
      onViolation: (v) => violations.push(v),
    });
    sims.push(server);
    targets.push({ name, team, token });
    developers.push(
      new Developer({
        name,
        team,
        server,
        prng: prng.fork("developer"),
        scheduler,
        turnsPerMinute: options.turnsPerMinute,
        outcomes,
        history,
        gate,
        onTurn: (o) => {
          turnsStarted++;
          turnsByOutcome[o]++;
        },
      }),
    );
  }
  const mode: ListenMode = options.listen ?? (options.servers <= 200 ? "perServer" : "shared");
  const transport = await startTransport(sims, mode, options.host ?? "127.0.0.1");
  // Each developer loops until close; a failure is reported, never thrown.
  for (const d of developers)
    void d.run().catch((err: unknown) => process.emitWarning(`simulated developer failed: ${String(err)}`));
  const historyDone = (async () => {
    while (!closed && developers.some((d) => !d.live)) await sleep(100);
  })();

  const sum = (pick: (s: SimServer) => Iterable<WireTokenCounts>): WireTokenCounts => {
    const total = zeroCounts();
    for (const s of sims) for (const c of pick(s)) addCounts(total, c);
    return total;
  };
  return {
    servers: targets.map((t, i) => ({ ...t, url: transport.urls[i] as string })),
    get served() {
      return sum((s) => [s.served]);
    },
    get servedByServer() {
      return new Map(sims.map((s) => [s.name, copyCounts(s.served)]));
    },
    get servedByThread() {
      const out = new Map<string, WireTokenCounts>();
      for (const s of sims) for (const t of s.threads.values()) out.set(t.id, copyCounts(t.total));
      return out;
    },
    violations,
    historyDone,
    simServers: sims,
    stats: () => {
      let threads = 0;
      let loadedThreads = 0;
      let connections = 0;
      for (const s of sims) {
        threads += s.threads.size;
        connections += s.connections.size;
        for (const t of s.threads.values()) if (t.loaded) loadedThreads++;
      }
      return {
        turnsStarted,
        turnsByOutcome: { ...turnsByOutcome },
        busyDevelopers: developers.filter((d) => d.busy).length,
        liveDevelopers: developers.filter((d) => d.live).length,
        threads,
        loadedThreads,
        connections,
        scheduled: scheduler.size,
      };
    },
    pause: () => {
      paused = true;
    },
    resume: () => {
      if (!paused) return;
      paused = false;
      const w = wake;
      woken = new Promise((r) => {
        wake = r;
      });
      w?.();
    },
    idle: async (pollMs = 50) => {
      while (!closed && developers.some((d) => d.busy)) await sleep(pollMs);
    },
    leave: () => {
      for (const d of developers) d.leave();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      wake?.();
      scheduler.close();
      await transport.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
