/**
 * What the rules read, gathered from the fleet and the database into a `FleetSnapshot`: thread
 * and target state (with outage tracking), recent failed turns (from fleet events, and from the
 * turn table after a restart) and today's spend (from the hourly rollup, refreshed when usage is
 * counted, at most every few seconds). The money rules (issue 14) read the same way: the budgets'
 * spend per period (refreshed like today's spend) and the stored plan limits (looked at every few
 * seconds, since another instance's observer may have written them, and read again when a state
 * row was written or a minute went by), from which the budget rows are
 * evaluated at each snapshot's `now`. A source that cannot be read yields null: its rules hold.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { type BudgetSpendRow, budgetSpend } from "@codex-fleet/db/queries/budgets";
import { listRecentFailedTurns, spendByTarget } from "@codex-fleet/db/repositories/alerts-repository";
import { planLimitsVersion } from "@codex-fleet/db/repositories/plan-limits-repository";
import type { FleetEvent } from "@codex-fleet/protocol/events";
import { evaluateBudgets, type PlanMember } from "../budgets/evaluate.ts";
import { loadPlanMembers } from "../budgets/load.ts";
import type { BudgetConfig } from "../config/schema.ts";
import type { Fleet, TargetRuntime } from "../fleet/fleet.ts";
import { errText } from "../lib/err-text.ts";
import type { Logger } from "../logger.ts";
import { type DownState, nextDownState } from "./target-health.ts";
import type { EffectiveRule, FailedTurn, FleetSnapshot, SpendSnapshot, TargetSnapshot } from "./types.ts";

const DAY_MS = 86_400_000;
const SPEND_MAX_AGE_MS = 60_000;
const SPEND_MIN_AGE_MS = 5_000;
const PLAN_MIN_AGE_MS = 5_000;
/**
 * The plan limits are read again only when a state row was written (`planLimitsVersion`), and at
 * least this often: a target's team (joined from its row) is not in that version.
 */
export const PLAN_REREAD_MS = 60_000;
const BUDGET_RULES: readonly EffectiveRule["kind"][] = ["budget", "budgetForecast"];
const PLAN_RULES: readonly EffectiveRule["kind"][] = ["planWindow", "planForecast", "limitReached"];

export class SnapshotInputs {
  private readonly failures = new Map<string, FailedTurn>();
  private failuresLoaded = false;
  private readonly down = new Map<string, DownState | null>();
  /**
   * Each target's last snapshot, kept from one evaluation to the next and replaced only when it
   * changed: at 10,000 targets, new ones every few seconds were most of what an idle collector
   * allocated (sampled heap profile, issue 13 goal 5). Also the snapshot's `targetById`.
   */
  private readonly targetSnaps = new Map<string, TargetSnapshot>();
  private spend: SpendSnapshot | null = null;
  private spendFetchedAtMs = Number.NEGATIVE_INFINITY;
  private spendDirty = true;
  /** The budgets' spend per target and period; null = not read (or failed). */
  private budgetSpend: BudgetSpendRow[] | null = null;
  private budgetSpendAt = { fetchedAtMs: Number.NEGATIVE_INFINITY, dayStartMs: 0, dirty: true };
  private plans: PlanMember[] | null = null;
  private plansFetchedAtMs = Number.NEGATIVE_INFINITY;
  /** What `plans` was read from: the table's version, when, and whether with samples. */
  private plansRead = { version: "", atMs: Number.NEGATIVE_INFINITY, withSamples: false };

  constructor(
    private readonly opts: {
      fleet: Fleet;
      pool: DbPool;
      rules: readonly EffectiveRule[];
      settleMs: number;
      log: Logger;
      /** The configured budgets (top-level `budgets:`); none → the budget rules see no rows. */
      budgets?: readonly BudgetConfig[];
    },
  ) {}

  /** A connection status changed: fold it in now, so that no backoff between two runs is missed. */
  targetChanged(rt: TargetRuntime): void {
    const id = rt.config.name;
    this.down.set(id, nextDownState(this.down.get(id) ?? null, rt.status));
  }

  /** Usage was counted: today's spend is stale. */
  usageCounted(): void {
    this.spendDirty = true;
    this.budgetSpendAt.dirty = true;
  }

  /** Record a failed turn; returns true when it was one. */
  event(targetId: string, event: FleetEvent): boolean {
    if (event.kind !== "turnCompleted" || event.turn.status !== "failed") return false;
    if (!this.failures.has(event.turn.id)) {
      this.failures.set(event.turn.id, {
        turnId: event.turn.id,
        threadId: event.threadId,
        targetId,
        codexErrorInfo: event.turn.error?.codexErrorInfo ?? null,
        atMs: event.atMs,
      });
    }
    return true;
  }

  /** Refresh what needs the database, then build the snapshot at `now`. */
  async snapshot(now: number): Promise<FleetSnapshot> {
    await this.refreshFailures(now);
    await this.refreshSpend(now);
    const money = await this.refreshMoney(now);
    const { fleet } = this.opts;
    const targets: TargetSnapshot[] = [];
    for (const rt of fleet.targets.values()) {
      this.targetChanged(rt);
      const id = rt.config.name;
      const down = this.down.get(id) ?? null;
      let t = this.targetSnaps.get(id);
      if (
        t === undefined ||
        t.team !== rt.config.team ||
        t.state !== rt.status.state ||
        t.connectedSinceMs !== rt.connectedSinceMs ||
        t.down !== down // nextDownState keeps the object while nothing changed
      ) {
        t = { id, team: rt.config.team, state: rt.status.state, connectedSinceMs: rt.connectedSinceMs, down };
        this.targetSnaps.set(id, t);
      }
      targets.push(t);
    }
    if (this.targetSnaps.size > targets.length)
      for (const id of this.targetSnaps.keys()) if (!fleet.targets.has(id)) this.targetSnaps.delete(id);
    return {
      targets,
      targetById: this.targetSnaps,
      threads: [...this.opts.fleet.threads.values()],
      // A deleted target's failures end with it (its threads left memory: nothing to judge them by).
      failures: this.failuresLoaded
        ? [...this.failures.values()].filter(
            (f) => this.opts.fleet.targets.has(f.targetId) || this.opts.fleet.threads.has(f.threadId),
          )
        : null,
      spend: this.spend,
      settleMs: this.opts.settleMs,
      ...money,
    };
  }

  private anyEnabled(kinds: readonly EffectiveRule["kind"][]): boolean {
    return this.opts.rules.some((r) => r.enabled && kinds.includes(r.kind));
  }

  /** The budget rows and plan limits the money rules read (each null when it could not be read). */
  private async refreshMoney(now: number): Promise<Pick<FleetSnapshot, "budgets" | "plans">> {
    const budgets = this.opts.budgets ?? [];
    const budgetRules = this.anyEnabled(BUDGET_RULES);
    const needSpend = budgetRules && budgets.some((b) => b.unit === "usd");
    const needPlans =
      this.anyEnabled(PLAN_RULES) || (budgetRules && budgets.some((b) => b.unit === "planPct"));
    if (needSpend) await this.refreshBudgetSpend(now);
    // Samples only for a forecast: planForecast, or a plan-window budget's row.
    const withSamples =
      this.anyEnabled(["planForecast"]) || (budgetRules && budgets.some((b) => b.unit === "planPct"));
    if (needPlans && now - this.plansFetchedAtMs >= PLAN_MIN_AGE_MS) {
      try {
        // Read before the states: a write in between makes the next look read them again.
        const version = await planLimitsVersion({ pool: this.opts.pool });
        const read = this.plansRead;
        const current =
          this.plans !== null &&
          version === read.version &&
          withSamples === read.withSamples &&
          now - read.atMs < PLAN_REREAD_MS;
        if (!current) {
          this.plans = await loadPlanMembers({
            pool: this.opts.pool,
            nowMs: now,
            withSamples,
            previous: this.plans,
          });
          this.plansRead = { version, atMs: now, withSamples };
        }
        this.plansFetchedAtMs = now;
      } catch (err) {
        this.plans = null;
        this.opts.log.warn({ err: errText(err) }, "alerts: could not read plan limits; plan rules hold");
      }
    }
    const plans = needPlans ? this.plans : [];
    if (!budgetRules) return { budgets: [], plans };
    if ((needSpend && this.budgetSpend === null) || plans === null) return { budgets: null, plans };
    // No budget configured: no rows (and no list of every target to build every few seconds).
    if (budgets.length === 0) return { budgets: [], plans };
    const knownTargets = [...this.opts.fleet.targets.values()].map((rt) => ({
      id: rt.config.name,
      team: rt.config.team,
    }));
    const rows = evaluateBudgets(budgets, { nowMs: now, spend: this.budgetSpend ?? [], plans, knownTargets });
    return { budgets: rows, plans };
  }

  private async refreshBudgetSpend(now: number): Promise<void> {
    const dayStartMs = Math.floor(now / DAY_MS) * DAY_MS;
    const at = this.budgetSpendAt;
    const age = now - at.fetchedAtMs;
    const stale =
      this.budgetSpend === null ||
      at.dayStartMs !== dayStartMs ||
      age >= SPEND_MAX_AGE_MS ||
      (at.dirty && age >= SPEND_MIN_AGE_MS);
    if (!stale) return;
    try {
      this.budgetSpend = await budgetSpend({ pool: this.opts.pool, nowMs: now });
      this.budgetSpendAt = { fetchedAtMs: now, dayStartMs, dirty: false };
    } catch (err) {
      this.budgetSpend = null;
      this.opts.log.warn({ err: errText(err) }, "alerts: could not read budget spend; budget rules hold");
    }
  }

  private enabled(kind: EffectiveRule["kind"]): EffectiveRule[] {
    return this.opts.rules.filter((r) => r.enabled && r.kind === kind);
  }

  private async refreshFailures(now: number): Promise<void> {
    const windowMs = Math.max(
      0,
      ...[...this.enabled("turnFailed"), ...this.enabled("limitReached")].map((r) =>
        "windowMs" in r ? r.windowMs : 0,
      ),
    );
    if (windowMs === 0) this.failuresLoaded = true;
    if (!this.failuresLoaded) {
      try {
        const rows = await listRecentFailedTurns({ pool: this.opts.pool, sinceMs: now - windowMs });
        for (const f of rows) if (!this.failures.has(f.turnId)) this.failures.set(f.turnId, f);
        this.failuresLoaded = true;
      } catch (err) {
        this.opts.log.warn(
          { err: errText(err) },
          "alerts: could not load recent failed turns; turnFailed rules hold",
        );
      }
    }
    for (const [id, f] of this.failures) if (f.atMs <= now - windowMs) this.failures.delete(id);
  }

  private async refreshSpend(now: number): Promise<void> {
    const dayStartMs = Math.floor(now / DAY_MS) * DAY_MS;
    if (this.enabled("dailySpend").length === 0) {
      this.spend = { dayStartMs, byTarget: [] };
      return;
    }
    const age = now - this.spendFetchedAtMs;
    const stale =
      this.spend?.dayStartMs !== dayStartMs ||
      age >= SPEND_MAX_AGE_MS ||
      (this.spendDirty && age >= SPEND_MIN_AGE_MS);
    if (!stale) return;
    try {
      const byTarget = await spendByTarget({
        pool: this.opts.pool,
        fromMs: dayStartMs,
        toMs: dayStartMs + DAY_MS,
      });
      this.spend = { dayStartMs, byTarget };
      this.spendFetchedAtMs = now;
      this.spendDirty = false;
    } catch (err) {
      this.spend = null;
      this.opts.log.warn(
        { err: errText(err) },
        "alerts: could not read today's spend; dailySpend rules hold",
      );
    }
  }
}
