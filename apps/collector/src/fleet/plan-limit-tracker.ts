/**
 * Follows one target's plan limits (issue 14): at each connect it loads what the database knows
 * (a restart keeps merging into it), reads `account/rateLimits/read` at once and then every
 * `observer.rateLimitPollMs` (through the connection's queue: one request at a time), merges
 * those and the pushed `account/rateLimits/updated` reports, stores each change with its samples
 * (plan-limit-writer.ts) and announces it (a live `limits` row).
 */
import type { PlanLimitSourceStatus } from "@codex-fleet/db/repositories/plan-limits-repository";
import type { PlanLimitReport } from "@codex-fleet/protocol/limits";
import { isEmptyReport, rateLimitsReadReports } from "@codex-fleet/protocol/rate-limits-wire";
import { errText } from "../lib/err-text.ts";
import {
  ConnectionClosedError,
  RATE_LIMIT_READ_PARAMS,
  RpcError,
  type TargetConnection,
} from "./connection.ts";
import type { PlanLimitLoader } from "./plan-limit-loader.ts";
import type { PlanLimitWriter } from "./plan-limit-writer.ts";
import { type LimitChange, limitChange, MAX_LIMITS_PER_TARGET, TargetPlanLimits } from "./plan-limits.ts";

/** Reports held while the stored states load (more are dropped: the next report repeats them). */
const MAX_PENDING_REPORTS = 100;

export interface PlanLimitTrackerDeps {
  targetId: string;
  team(): string;
  connection: Pick<TargetConnection, "request" | "isReady">;
  /** The fleet's loader of stored states (one query for the targets that open together). */
  loader: Pick<PlanLimitLoader, "load">;
  writer: PlanLimitWriter;
  /** 0: read once at connect. */
  pollMs: number;
  now(): number;
  /** A limit changed; its row is built when (if) someone reads it. */
  publish(change: LimitChange): void;
  log(level: "info" | "warn" | "debug", msg: string, extra?: Record<string, unknown>): void;
  /**
   * Whether a thread of this target is active now. A read is then put off: the windows arrive
   * with each model response anyway, and the read (a call to OpenAI's backend on the developer's
   * account) would hold up the subscriptions queued behind it on the connection, which must go
   * out the moment a thread turns active to catch its totals (facts §2).
   */
  busy?(): boolean;
}

/** How long a read put off by activity waits before it looks again. */
export const BUSY_RETRY_MS = 30_000;

/** The reason shown for a codex whose read takes no parameters (0.150.0, measured). */
export const READ_TAKES_NO_PARAMS =
  "this codex version cannot read plan limits the way the collector asks (its account/rateLimits/read takes no parameters; measured on 0.150.0): upgrade codex; the windows reported after each model response still arrive";

/**
 * What a failed read means. Two answers say "not available for this target", not an error to
 * retry faster (the poll goes on at its interval: a login or an upgrade may come):
 * - -32600 "codex account authentication required…": an API-key login (facts "Rate limits and
 *   credits"), with the server's message as the reason;
 * - -32600 "…invalid type: map, expected unit": an older codex (0.150.0, measured) whose read
 *   takes no parameters; the guard never sends it without `excludeResetCreditDetails`.
 */
export function readOutcome(err: unknown): { status: PlanLimitSourceStatus; reason: string } {
  if (err instanceof RpcError && err.code === -32600) {
    if (/authentication required/i.test(err.serverMessage))
      return { status: "unavailable", reason: err.serverMessage };
    if (/expected unit/i.test(err.serverMessage))
      return { status: "unavailable", reason: READ_TAKES_NO_PARAMS };
  }
  if (err instanceof RpcError) return { status: "error", reason: err.serverMessage };
  return { status: "error", reason: err instanceof Error ? err.message : String(err) };
}

/** One target's plan limits. */
export class PlanLimitTracker {
  readonly limits = new TargetPlanLimits();
  private generation = 0;
  private loaded = false;
  private pending: { reports: PlanLimitReport[]; atMs: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private lastStatus: PlanLimitSourceStatus | null = null;
  private warnedDropped = false;

  constructor(private readonly deps: PlanLimitTrackerDeps) {}

  /**
   * The connection is open: load the stored states, then — once `settled` (the observer's start-up
   * scan and resumes, which go first on the connection's one-at-a-time queue) — read, then poll.
   */
  onOpen(settled: Promise<unknown> = Promise.resolve()): void {
    const gen = ++this.generation;
    this.loaded = false;
    void this.load(gen).finally(() => {
      if (gen !== this.generation) return;
      this.loaded = true;
      for (const p of this.pending.splice(0)) this.apply(p.reports, p.atMs);
      void settled
        .catch(() => {})
        .then(() => {
          if (gen === this.generation) this.readWhenQuiet(gen);
        });
    });
  }

  /** Read now, unless a thread is active: then look again later. */
  private readWhenQuiet(gen: number): void {
    if (!this.deps.busy?.()) {
      void this.read(gen);
      return;
    }
    this.schedule(gen, this.deps.pollMs > 0 ? Math.min(this.deps.pollMs, BUSY_RETRY_MS) : BUSY_RETRY_MS);
  }

  private schedule(gen: number, delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (gen === this.generation && this.deps.connection.isReady) this.readWhenQuiet(gen);
    }, delayMs);
    this.timer.unref();
  }

  /** The connection closed: no more reads until the next open. */
  onClose(): void {
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
  }

  /** Reports pushed by `account/rateLimits/updated` (received at `atMs`, collector clock). */
  receive(reports: readonly PlanLimitReport[], atMs: number): void {
    if (reports.length === 0) return;
    if (this.loaded) this.apply(reports, atMs);
    else if (this.pending.length < MAX_PENDING_REPORTS) this.pending.push({ reports: [...reports], atMs });
  }

  private async load(gen: number): Promise<void> {
    try {
      const { states, samples } = await this.deps.loader.load(this.deps.targetId);
      if (gen !== this.generation) return;
      this.limits.seed(states, samples);
    } catch (err) {
      // Not fatal: merging starts from what this process knows; the stored state is never moved
      // back by an older one (savePlanLimit is conditioned on observed_at).
      this.deps.log("warn", "could not load stored plan limits", { error: errText(err) });
    }
  }

  private async read(gen: number): Promise<void> {
    let outcome: { status: PlanLimitSourceStatus; reason: string | null };
    let reports: PlanLimitReport[] = [];
    try {
      const result = await this.deps.connection.request("account/rateLimits/read", RATE_LIMIT_READ_PARAMS);
      reports = rateLimitsReadReports(result).filter((r) => !isEmptyReport(r));
      outcome = { status: "ok", reason: null };
    } catch (err) {
      if (err instanceof ConnectionClosedError) return;
      outcome = readOutcome(err);
    }
    if (gen !== this.generation) return;
    const atMs = this.deps.now();
    this.apply(reports, atMs);
    this.recordSource(outcome.status, outcome.reason, atMs);
    if (this.deps.pollMs > 0) this.schedule(gen, this.deps.pollMs);
  }

  private recordSource(status: PlanLimitSourceStatus, reason: string | null, atMs: number): void {
    const { targetId } = this.deps;
    this.deps.writer.saveSource({ targetId, status, reason, atMs });
    if (status === this.lastStatus) return;
    // Once per change, not on every poll.
    if (status === "unavailable")
      this.deps.log("info", "plan limits not available for this target", { reason });
    else if (status === "error") this.deps.log("warn", "could not read plan limits", { reason });
    else if (this.lastStatus !== null) this.deps.log("info", "plan limits readable again", {});
    this.lastStatus = status;
  }

  private apply(reports: readonly PlanLimitReport[], atMs: number): void {
    const { targetId } = this.deps;
    for (const report of reports) {
      const applied = this.limits.apply(report, atMs);
      if (applied.kind === "dropped") {
        if (!this.warnedDropped)
          this.deps.log("warn", `more than ${MAX_LIMITS_PER_TARGET} plan limits: ignoring new limit ids`, {
            limitId: report.limitId,
          });
        this.warnedDropped = true;
        continue;
      }
      if (!applied.save) continue;
      this.deps.writer.saveLimit(targetId, applied.state, applied.samples);
      const { state } = applied;
      this.deps.publish(
        limitChange(targetId, state.limitId, () => this.limits.latestRow(state, targetId, this.deps.team())),
      );
    }
  }
}
