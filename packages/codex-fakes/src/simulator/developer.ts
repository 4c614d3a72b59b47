/**
 * A simulated developer driving one simulated app-server the way a person with the VS Code
 * extension does: opens threads in their team's repositories, sends turns at a Poisson rate,
 * answers approvals after a while (occasionally not for minutes), sometimes interrupts. Optionally
 * replays past days first at an accelerated clock (see SimClock) so dashboards have history.
 */
import { MODELS, originUrl, PROMPTS, reposForTeam, type SimModel } from "./catalog.ts";
import { planHistory } from "./history-plan.ts";
import { randomHex } from "./ids.ts";
import type { Prng } from "./prng.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SimServer } from "./sim-server.ts";
import type { SimThread } from "./state.ts";
import { followUp, type Outcome, runTurn, type TurnContext } from "./turn-scripts.ts";
import { initialContext } from "./usage.ts";

/** The default outcome mix (relative weights). */
export const DEFAULT_OUTCOMES: Readonly<Record<Outcome, number>> = {
  completed: 56,
  toolCall: 20,
  approval: 7,
  approvalStuck: 1,
  userInput: 2,
  http500: 4,
  responseFailed: 3,
  interrupted: 7,
};

/** Accelerated replay of past days before going live. */
export interface HistoryOptions {
  fromMs: number;
  toMs: number;
  turnsPerDay: number;
  /** Simulated ms per real ms during the replay. */
  speed: number;
  /** Shortest real wait between two steps of a replayed turn (gives observers time to subscribe). */
  minStepMs: number;
}

/** Pause switch shared by the fleet. */
export interface Gate {
  readonly paused: boolean;
  waitUntilResumed(): Promise<void>;
  readonly closed: boolean;
}

export interface DeveloperOptions {
  name: string;
  team: string;
  server: SimServer;
  prng: Prng;
  scheduler: Scheduler;
  turnsPerMinute: number;
  outcomes: Readonly<Record<Outcome, number>>;
  history: HistoryOptions | null;
  gate: Gate;
  onTurn(outcome: Outcome): void;
}

/** One simulated developer. `run()` loops until the fleet closes. */
export class Developer {
  /** A turn is running. */
  busy = false;
  /** Replay of past days finished (or there was none). */
  live = false;
  private thread: SimThread | null = null;
  private readonly preferred: SimModel;
  private readonly outcomeTable: readonly (readonly [Outcome, number])[];
  private minStepMs = 0;

  constructor(private readonly o: DeveloperOptions) {
    this.preferred = o.prng.weighted(MODELS.map((m) => [m, m.weight] as const));
    this.outcomeTable = Object.entries(o.outcomes) as [Outcome, number][];
  }

  /** Replay history (if any), then work live until the gate closes. */
  async run(): Promise<void> {
    const clock = this.o.server.clock;
    if (this.o.history) await this.replay(this.o.history);
    clock.goLive();
    this.minStepMs = 0;
    this.live = true;
    const meanGapMs = 60_000 / Math.max(0.001, this.o.turnsPerMinute);
    while (!this.o.gate.closed) {
      await this.wait(this.o.prng.exp(meanGapMs));
      if (!(await this.admit())) return;
      await this.turn(false);
    }
  }

  private async replay(h: HistoryOptions): Promise<void> {
    const clock = this.o.server.clock;
    const plan = planHistory({
      fromMs: h.fromMs,
      toMs: h.toMs,
      turnsPerDay: h.turnsPerDay,
      utcOffsetHours: this.o.prng.pick([-5, 0, 1, 2]),
      prng: this.o.prng,
    });
    this.minStepMs = h.minStepMs;
    let previous = Number.NEGATIVE_INFINITY;
    for (const at of plan) {
      if (!(await this.admit())) return;
      clock.replay(at, h.speed);
      await this.turn(at - previous > 2 * 3_600_000);
      previous = clock.now();
    }
  }

  /** Waits while paused; false once the fleet is closed. */
  private async admit(): Promise<boolean> {
    while (this.o.gate.paused && !this.o.gate.closed) await this.o.gate.waitUntilResumed();
    return !this.o.gate.closed;
  }

  private async turn(newSession: boolean): Promise<void> {
    const { server, prng } = this.o;
    this.busy = true;
    try {
      let thread = this.thread;
      if (!thread || newSession || prng.chance(0.25) || thread.turns.length >= 12) {
        if (thread) server.releaseThread(thread);
        thread = this.openThread();
        this.thread = thread;
        await this.wait(prng.logNormal(1_500, 0.5));
      }
      const outcome = prng.weighted(this.outcomeTable);
      const text = thread.turns.length === 0 ? prng.pick(PROMPTS) : followUp(prng);
      const ctx: TurnContext = {
        server,
        thread,
        prng,
        wait: (ms) => this.wait(ms),
        // A stuck approval waits minutes, then half the time the developer gives up and interrupts.
        react: (o) =>
          o === "approvalStuck"
            ? { afterMs: prng.int(3, 10) * 60_000, interrupt: prng.chance(0.5) }
            : { afterMs: prng.logNormal(o === "userInput" ? 20_000 : 8_000, 0.7), interrupt: false },
      };
      this.o.onTurn(outcome);
      await runTurn(ctx, text, outcome);
    } finally {
      this.busy = false;
    }
  }

  /**
   * The developer closes the editor between turns (call while paused and idle): the thread is
   * released, so app-server unloads it once no client holds it; the next turn opens a new one.
   */
  leave(): void {
    if (this.busy || !this.thread) return;
    this.o.server.releaseThread(this.thread);
    this.thread = null;
  }

  private openThread(): SimThread {
    const { server, prng } = this.o;
    const model = prng.chance(0.75)
      ? this.preferred
      : prng.weighted(MODELS.map((m) => [m, m.weight] as const));
    const repo = prng.pick(reposForTeam(this.o.team));
    const repoName = repo.slice(repo.indexOf("/") + 1);
    const slug = prng.pick(["retry", "pagination", "config", "tests", "logging", "upgrade", "cleanup"]);
    const thread = server.createThread({
      model,
      cwd: `/home/${this.o.name}/src/${repoName}`,
      gitInfo: {
        sha: randomHex(prng, 40),
        branch: prng.pick(["main", `feature/${slug}`, `fix/${slug}`]),
        originUrl: originUrl(repo, this.o.name.length % 2 === 0),
      },
    });
    thread.contextTokens = initialContext(prng);
    return thread;
  }

  /** Let `simMs` of the server's simulated time pass (scaled while replaying). */
  private wait(simMs: number): Promise<void> {
    const realMs = Math.max(this.minStepMs, this.o.server.clock.realDelay(simMs));
    return new Promise((resolve) => {
      this.o.scheduler.after(realMs, resolve);
    });
  }
}
