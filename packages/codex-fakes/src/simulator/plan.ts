/**
 * A simulated developer's ChatGPT plan (issue 14): a 5-hour primary and a weekly secondary usage
 * window, each filled by the tokens the developer's turns use and reset at fixed times, as codex
 * 0.169.0 reports them (codex-app-server-facts.md "Rate limits and credits"):
 * - after each model response, `account/rateLimits/updated` with both windows and credits, no
 *   `planType` (the header route never fills it), `usedPercent` an integer;
 * - `account/rateLimits/read` (a ChatGPT login) with `planType` and `rateLimitsByLimitId`.
 * A developer without a plan signed in with an API key: updates carry nulls and the read fails
 * with -32600 (see sim-rpc.ts).
 */
import type { Prng } from "./prng.ts";

export type SimPlanType = "plus" | "pro" | "team";

export interface SimPlan {
  planType: SimPlanType;
  /** Tokens that fill each window to 100 %. */
  primaryTokens: number;
  secondaryTokens: number;
}

const PRIMARY_MINS = 300;
const SECONDARY_MINS = 10_080;

/** Window budgets per plan: big enough that a busy simulated developer takes hours to fill them. */
const PLANS: Record<SimPlanType, { primaryTokens: number; secondaryTokens: number }> = {
  plus: { primaryTokens: 4_000_000, secondaryTokens: 60_000_000 },
  team: { primaryTokens: 8_000_000, secondaryTokens: 120_000_000 },
  pro: { primaryTokens: 40_000_000, secondaryTokens: 600_000_000 },
};

/** A plan for one developer (3 in 4 have one; the rest use an API key), deterministic per seed. */
export function pickPlan(prng: Prng): SimPlan | null {
  if (prng.next() < 0.25) return null;
  const planType = prng.pick(["plus", "plus", "team", "pro"] as const);
  return { planType, ...PLANS[planType] };
}

interface Window {
  mins: number;
  budget: number;
  /** Start of the current window (ms) and the tokens used in it. */
  startMs: number;
  used: number;
}

/** The windows of one developer's plan, filled as turns use tokens. */
export class PlanMeter {
  private readonly windows: [Window, Window];

  /** `nowMs`: the simulated time at start; each window starts part-way and part-used. */
  constructor(
    readonly plan: SimPlan,
    nowMs: number,
    prng: Prng,
  ) {
    const start = (mins: number, budget: number): Window => {
      const lengthMs = mins * 60_000;
      const startMs = nowMs - Math.floor(prng.next() * lengthMs * 0.8);
      const used = Math.floor(budget * prng.next() * 0.6);
      return { mins, budget, startMs, used };
    };
    this.windows = [start(PRIMARY_MINS, plan.primaryTokens), start(SECONDARY_MINS, plan.secondaryTokens)];
  }

  /** Tokens used at `atMs`. */
  add(tokens: number, atMs: number): void {
    for (const w of this.windows) {
      this.roll(w, atMs);
      w.used += tokens;
    }
  }

  /** A window that ended is replaced by a fresh one (whole windows after the last start). */
  private roll(w: Window, atMs: number): void {
    const lengthMs = w.mins * 60_000;
    if (atMs < w.startMs + lengthMs) return;
    w.startMs += Math.floor((atMs - w.startMs) / lengthMs) * lengthMs;
    w.used = 0;
  }

  /** The `rateLimits` snapshot at `atMs`; `planType` only in the read's (codex's header route has none). */
  snapshot(atMs: number, withPlanType: boolean): Record<string, unknown> {
    const window = (w: Window) => {
      this.roll(w, atMs);
      return {
        usedPercent: Math.min(100, Math.round((w.used / w.budget) * 100)),
        windowDurationMins: w.mins,
        resetsAt: Math.floor((w.startMs + w.mins * 60_000) / 1000),
      };
    };
    const [primary, secondary] = this.windows;
    return {
      limitId: "codex",
      limitName: null,
      normalModelSlug: null,
      primary: window(primary),
      secondary: window(secondary),
      credits: { hasCredits: false, unlimited: false, balance: "0" },
      individualLimit: null,
      spendControlReached: null,
      planType: withPlanType ? this.plan.planType : null,
      rateLimitReachedType: null,
    };
  }
}
