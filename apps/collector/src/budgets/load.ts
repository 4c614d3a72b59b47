/**
 * Reads what budgets and the plan-window alerts are evaluated from: spend per target in the
 * current periods (queries/budgets.ts) and each target's stored plan limits with the samples of
 * the forecast's look-back (repositories/plan-limits-repository.ts). Only what the budgets need is read.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { type BudgetSpendRow, budgetSpend } from "@codex-fleet/db/queries/budgets";
import { listPlanLimits, listPlanSamples } from "@codex-fleet/db/repositories/plan-limits-repository";
import { FORECAST_LOOKBACK_MS, type PlanSample } from "@codex-fleet/protocol/limits";
import type { BudgetConfig } from "../config/schema.ts";
import { sameValue } from "../lib/same-value.ts";
import type { BudgetInputs, PlanMember } from "./evaluate.ts";

/**
 * Every target's stored plan limits, each with its windows' samples of the forecast's look-back
 * (`withSamples: false` skips them: the rules that read only the state, e.g. limitReached, do not
 * pay for an hour of samples of every target every few seconds).
 *
 * `previous`: the members of the last read, re-read every few seconds. A member equal to its
 * previous one is that one, so what the caller holds between reads stays put and only changed
 * rows become garbage. Why: replacing every member of a 10,000-target fleet every 5 s moved about
 * 0.7 MB/s of objects into the old generation of an idle collector (sampled heap profile, issue 13
 * goal 5), which its memory then followed.
 */
export async function loadPlanMembers(args: {
  pool: DbPool;
  nowMs: number;
  withSamples?: boolean;
  previous?: readonly PlanMember[] | null;
}): Promise<PlanMember[]> {
  const [limits, samples] = await Promise.all([
    listPlanLimits({ pool: args.pool }),
    args.withSamples === false
      ? Promise.resolve([])
      : listPlanSamples({ pool: args.pool, fromMs: args.nowMs - FORECAST_LOOKBACK_MS, toMs: args.nowMs }),
  ]);
  const byKey = new Map<string, PlanSample[]>();
  for (const s of samples) {
    const key = keyOf(s.target, s.limitId, s.window);
    const list = byKey.get(key) ?? [];
    list.push(s.sample);
    byKey.set(key, list);
  }
  const of = (target: string, limitId: string, window: string) =>
    byKey.get(keyOf(target, limitId, window)) ?? [];
  const before = new Map<string, PlanMember>();
  for (const m of args.previous ?? []) before.set(keyOf(m.target, m.state.limitId), m);
  return limits.map((l) => {
    const member: PlanMember = {
      target: l.target,
      team: l.team,
      state: l.state,
      samples: {
        primary: of(l.target, l.state.limitId, "primary"),
        secondary: of(l.target, l.state.limitId, "secondary"),
      },
    };
    const was = before.get(keyOf(l.target, l.state.limitId));
    return was !== undefined && sameValue(was, member) ? was : member;
  });
}

/** Target, limit id (and window): ids never hold a NUL (protocol bounds). */
const keyOf = (...parts: string[]) => parts.join("\u0000");

/** The inputs of `budgets` at `nowMs` (spend only with a usd budget, plan limits only with a planPct one). */
export async function loadBudgetInputs(args: {
  pool: DbPool;
  budgets: readonly BudgetConfig[];
  nowMs: number;
  knownTargets: BudgetInputs["knownTargets"];
}): Promise<BudgetInputs> {
  const { pool, nowMs } = args;
  const usd = args.budgets.some((b) => b.unit === "usd");
  const plan = args.budgets.some((b) => b.unit === "planPct");
  const [spend, plans] = await Promise.all([
    usd ? budgetSpend({ pool, nowMs }) : Promise.resolve<BudgetSpendRow[]>([]),
    plan ? loadPlanMembers({ pool, nowMs }) : Promise.resolve<PlanMember[]>([]),
  ]);
  return { nowMs, spend, plans, knownTargets: args.knownTargets };
}
