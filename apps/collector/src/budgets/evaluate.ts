/**
 * Budget evaluation (issue 14, README "Budgets"): a pure function of (budget, spend per target,
 * plan limits per target, known targets, now) → the API row. The API and the budget alerts call
 * the same function, so a row and its alert never disagree.
 */
import type { BudgetSpendRow } from "@codex-fleet/db/queries/budgets";
import {
  type BudgetForecastMethod,
  type BudgetRow,
  type BudgetStatus,
  MIN_ELAPSED_MS,
  periodBounds,
} from "@codex-fleet/protocol/budgets";
import { forecastWindow, type PlanLimitState, type PlanSample } from "@codex-fleet/protocol/limits";
import type { BudgetConfig } from "../config/schema.ts";

const HOUR_MS = 3_600_000;

/** One target's stored plan limit with its window samples (the forecast's input). */
export interface PlanMember {
  target: string;
  team: string;
  state: PlanLimitState;
  samples: { primary: readonly PlanSample[]; secondary: readonly PlanSample[] };
}

/** Everything a budget is evaluated from. */
export interface BudgetInputs {
  nowMs: number;
  spend: readonly BudgetSpendRow[];
  plans: readonly PlanMember[];
  /** Configured targets: a subject among them (or its team) has data, even when it spent nothing. */
  knownTargets: readonly { id: string; team: string }[];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The status of a figure against its budget: over first, then forecast over, then warning. */
export function budgetStatus(args: {
  spent: number;
  amount: number;
  forecast: number | null;
  warnPct: number;
}): BudgetStatus {
  if (args.spent >= args.amount) return "over";
  if (args.forecast !== null && args.forecast > args.amount) return "forecastOver";
  if ((args.spent / args.amount) * 100 >= args.warnPct) return "warning";
  return "ok";
}

function subjectLabel(b: BudgetConfig): string {
  return b.scope === "fleet" ? "the fleet" : b.scope === "team" ? `team ${b.subject}` : (b.subject ?? "");
}

function matches(b: BudgetConfig, target: string, team: string): boolean {
  if (b.scope === "developer") return target === b.subject;
  if (b.scope === "team") return team === b.subject;
  return true;
}

function noData(
  b: BudgetConfig,
  detail: string,
  period: { startMs: number; endMs: number } | null,
): BudgetRow {
  return {
    ...identity(b),
    periodStart: iso(period?.startMs ?? null),
    periodEnd: iso(period?.endMs ?? null),
    spent: null,
    remaining: null,
    usedPct: null,
    forecast: null,
    forecastMethod: null,
    status: "noData",
    member: null,
    unpricedTokens: 0,
    detail,
  };
}

function identity(b: BudgetConfig) {
  return {
    id: b.id,
    scope: b.scope,
    subject: b.subject,
    unit: b.unit,
    period: (b.unit === "usd" ? b.period : b.window) ?? "",
    limitId: b.limitId,
    amount: b.amount,
  };
}

function figures(b: BudgetConfig, spent: number, forecast: number | null) {
  return {
    spent,
    remaining: round(b.amount - spent, 6),
    usedPct: round((spent / b.amount) * 100, 1),
    forecast,
    status: budgetStatus({ spent, amount: b.amount, forecast, warnPct: b.warnPct }),
  };
}

/**
 * A USD budget: spent in the period so far; forecast = spent ÷ elapsed × the period's length, once
 * `MIN_ELAPSED_MS` of the period has passed (an hour's burn run on for a month says nothing).
 */
function usdRow(b: BudgetConfig, inputs: BudgetInputs): BudgetRow {
  const period = b.period ?? "day";
  const bounds = periodBounds(period, inputs.nowMs);
  const rows = inputs.spend.filter((r) => matches(b, r.targetId, r.team));
  const known =
    b.scope === "fleet" || rows.length > 0 || inputs.knownTargets.some((t) => matches(b, t.id, t.team));
  if (!known)
    return noData(
      b,
      `No ${b.scope === "team" ? "team" : "target"} named "${b.subject}" is configured and it has no usage this ${period}.`,
      bounds,
    );
  const spent = round(
    rows.reduce((n, r) => n + r[period].costUsd, 0),
    6,
  );
  const unpricedTokens = rows.reduce((n, r) => n + r[period].unpricedTokens, 0);
  const elapsed = inputs.nowMs - bounds.startMs;
  const canForecast = elapsed >= MIN_ELAPSED_MS[period];
  const forecast = canForecast ? round((spent * (bounds.endMs - bounds.startMs)) / elapsed, 6) : null;
  const method: BudgetForecastMethod | null = canForecast ? "periodAverage" : null;
  const parts = [
    canForecast
      ? `Forecast: the average burn of the ${period} so far (${formatHours(elapsed)}) run on to its end.`
      : `No forecast before ${formatHours(MIN_ELAPSED_MS[period])} of the ${period} have passed.`,
  ];
  if (unpricedTokens > 0) parts.push(`${unpricedTokens} tokens have no price: the spend is a lower bound.`);
  return {
    ...identity(b),
    periodStart: iso(bounds.startMs),
    periodEnd: iso(bounds.endMs),
    ...figures(b, spent, forecast),
    forecastMethod: method,
    member: null,
    unpricedTokens,
    detail: parts.join(" "),
  };
}

function formatHours(ms: number): string {
  const h = ms / HOUR_MS;
  return h < 48 ? `${round(h, 1)} h` : `${round(h / 24, 1)} days`;
}

/** One member's window now: its used %, its reset and the % it is forecast to reach by then. */
interface MemberWindow {
  target: string;
  used: number;
  startMs: number | null;
  resetsAtMs: number | null;
  forecast: number | null;
  method: BudgetForecastMethod | null;
}

/**
 * A member's forecast at the window's reset: used + burn rate × time to reset, from
 * `forecastWindow`'s rate, capped at 100 (codex stops the developer there) but never below what is
 * used already.
 */
function memberWindow(m: PlanMember, window: "primary" | "secondary", nowMs: number): MemberWindow | null {
  const w = m.state[window];
  if (w === null) return null;
  // A window whose reset has passed describes the previous window, not this one.
  if (w.resetsAtMs !== null && nowMs >= w.resetsAtMs) return null;
  const f = forecastWindow(w, m.samples[window], nowMs);
  let forecast: number | null = null;
  if (f.status === "exhausted") forecast = w.usedPercent;
  else if (f.burnPctPerHour !== null && w.resetsAtMs !== null) {
    const projected = w.usedPercent + (f.burnPctPerHour * (w.resetsAtMs - w.observedAtMs)) / HOUR_MS;
    forecast = round(Math.max(w.usedPercent, Math.min(100, projected)), 1);
  }
  return {
    target: m.target,
    used: w.usedPercent,
    startMs:
      w.resetsAtMs !== null && w.windowDurationMins !== null
        ? w.resetsAtMs - w.windowDurationMins * 60_000
        : null,
    resetsAtMs: w.resetsAtMs,
    forecast,
    method: f.status === "exhausted" ? null : f.method,
  };
}

/**
 * A plan-window budget: the subject's used % of the window (team/fleet: the highest member's, the
 * one stopped first), and the highest forecast at the window's reset.
 */
function planRow(b: BudgetConfig, inputs: BudgetInputs): BudgetRow {
  const window = b.window ?? "secondary";
  const members = inputs.plans
    .filter((p) => p.state.limitId === b.limitId && matches(b, p.target, p.team))
    .flatMap((p) => memberWindow(p, window, inputs.nowMs) ?? []);
  if (members.length === 0)
    return noData(
      b,
      `No current ${window} window of limit "${b.limitId}" is reported for ${subjectLabel(b)} (an API-key login reports none; a window whose reset passed waits for the next report).`,
      null,
    );
  const top = members.reduce((a, m) => (m.used > a.used ? m : a));
  const forecasts = members.filter((m) => m.forecast !== null);
  const topForecast =
    forecasts.length === 0
      ? null
      : forecasts.reduce((a, m) => ((m.forecast ?? 0) > (a.forecast ?? 0) ? m : a));
  const who = b.scope === "developer" ? "" : `${top.target}: `;
  const parts = [`${who}${top.used} % of the ${window} window used`];
  if (top.resetsAtMs !== null) parts.push(`resets ${new Date(top.resetsAtMs).toISOString()}`);
  const sentence = [parts.join(", ")];
  if (topForecast !== null)
    sentence.push(
      `Forecast at reset ${topForecast.forecast} %${b.scope === "developer" ? "" : ` (${topForecast.target})`}, from the window's ${topForecast.method === "recentSlope" ? "recent slope" : "average"} burn rate.`,
    );
  else sentence.push("No burn rate known yet: no forecast.");
  return {
    ...identity(b),
    periodStart: iso(top.startMs),
    periodEnd: iso(top.resetsAtMs),
    ...figures(b, top.used, topForecast?.forecast ?? null),
    forecastMethod: topForecast?.method ?? null,
    member: top.target,
    unpricedTokens: 0,
    detail: `${sentence[0]}.${sentence.length > 1 ? ` ${sentence[1]}` : ""}`,
  };
}

/** Evaluate one budget now. */
export function evaluateBudget(b: BudgetConfig, inputs: BudgetInputs): BudgetRow {
  return b.unit === "usd" ? usdRow(b, inputs) : planRow(b, inputs);
}

/** Evaluate every budget now, in config order. */
export function evaluateBudgets(budgets: readonly BudgetConfig[], inputs: BudgetInputs): BudgetRow[] {
  return budgets.map((b) => evaluateBudget(b, inputs));
}
