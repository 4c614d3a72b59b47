/**
 * The money rules (issue 14): budgets (`budget`, `budgetForecast`) over the evaluated budget rows,
 * and the plan-window rules (`planWindow`, `planForecast`, `limitReached`) over the stored plan
 * limits. Pure, like every rule: (rule, snapshot and now, as a SnapshotIndex) → conditions. An alert's `group` carries
 * what its labels need (labels.ts): the budget id, or `limitId/window`.
 */
import type { BudgetRow } from "@codex-fleet/protocol/budgets";
import { forecastWindow, type PlanWindow } from "@codex-fleet/protocol/limits";
import type { PlanMember } from "../budgets/evaluate.ts";
import { condition, empty, movedOnFrom } from "./conditions.ts";
import type { Lookup, SnapshotIndex } from "./snapshot-index.ts";
import type { EffectiveRule, FleetSnapshot, RuleEvaluation, Subject } from "./types.ts";
import { subjectKey } from "./types.ts";

type RuleOf<K extends EffectiveRule["kind"]> = Extract<EffectiveRule, { kind: K }>;
type WindowName = "primary" | "secondary";

/** The codexErrorInfo kinds that mean "a limit stopped this turn" (codex 0.169 CodexErrorInfo). */
export const LIMIT_ERROR_KINDS: ReadonlySet<string> = new Set(["usageLimitExceeded", "rateLimitExceeded"]);

/**
 * Strings from an app-server (limit ids, reached types) in alert identities and summaries are cut
 * to this length: a hostile server must not grow alert rows and notifications.
 */
const MAX_REPORTED = 100;
const clip = (s: string): string => (s.length > MAX_REPORTED ? `${s.slice(0, MAX_REPORTED)}…` : s);

/** The `group` of a plan-window alert: `limitId/window` (labels.ts splits it at the last '/'). */
export const planGroup = (limitId: string, window: WindowName): string => `${clip(limitId)}/${window}`;

const windowsOf = (choice: "primary" | "secondary" | "any"): WindowName[] =>
  choice === "any" ? ["primary", "secondary"] : [choice];

function developer(targetId: string, team: string | null, group: string): Subject {
  return { type: "developer", id: targetId, group, targetId, threadId: null, team };
}

function budgetSubject(row: BudgetRow, teams: Lookup<string>): Subject {
  const group = row.id;
  if (row.scope === "developer")
    return developer(row.subject ?? "", teams.get(row.subject ?? "") ?? null, group);
  if (row.scope === "team")
    return { type: "team", id: row.subject ?? "", group, targetId: null, threadId: null, team: row.subject };
  return { type: "fleet", id: "fleet", group, targetId: null, threadId: null, team: null };
}

function budgetLabel(row: BudgetRow): string {
  const who =
    row.scope === "fleet" ? "the fleet" : row.scope === "team" ? `team ${row.subject}` : row.subject;
  const amount =
    row.unit === "usd"
      ? `$${row.amount.toFixed(2)} a ${row.period}`
      : `${row.amount} % of the ${row.period} window`;
  return `Budget ${row.id} (${who}, ${amount})`;
}

function budgetDetails(row: BudgetRow) {
  return {
    budget: row.id,
    unit: row.unit,
    period: row.period,
    amount: row.amount,
    spent: row.spent,
    usedPct: row.usedPct,
    forecast: row.forecast,
    forecastMethod: row.forecastMethod,
    periodEnd: row.periodEnd,
    member: row.member,
    unpricedTokens: row.unpricedTokens,
  };
}

/** The rows a budget rule watches, or null when the budgets could not be evaluated (the rule holds). */
function watched(
  rule: RuleOf<"budget" | "budgetForecast">,
  snap: FleetSnapshot,
): readonly BudgetRow[] | null {
  if (snap.budgets === null || snap.budgets === undefined) return null;
  const ids = rule.budgets;
  return ids === undefined ? snap.budgets : snap.budgets.filter((b) => ids.includes(b.id));
}

/**
 * `budget`: a budget's spent at or over `thresholdPct` of its amount. The summary names the
 * threshold, not the running figure, so it stays stable while the condition holds.
 */
export function budgetThreshold(rule: RuleOf<"budget">, index: SnapshotIndex): RuleEvaluation {
  const { snap, nowMs } = index;
  const rows = watched(rule, snap);
  if (rows === null) return { ...empty(), heldAll: true };
  const out = empty();
  for (const row of rows) {
    if (row.usedPct === null || row.usedPct < rule.thresholdPct) continue;
    out.conditions.push(
      condition(
        rule,
        budgetSubject(row, index.teams),
        nowMs,
        nowMs,
        `${budgetLabel(row)} has reached ${rule.thresholdPct} %`,
        row.usedPct,
        budgetDetails(row),
      ),
    );
  }
  return out;
}

/** `budgetForecast`: a budget's forecast at the end of its period is over its amount. */
export function budgetForecast(rule: RuleOf<"budgetForecast">, index: SnapshotIndex): RuleEvaluation {
  const { snap, nowMs } = index;
  const rows = watched(rule, snap);
  if (rows === null) return { ...empty(), heldAll: true };
  const out = empty();
  for (const row of rows) {
    if (row.forecast === null || row.forecast <= row.amount) continue;
    const end = row.unit === "usd" ? `the end of the ${row.period}` : "the window's reset";
    out.conditions.push(
      condition(
        rule,
        budgetSubject(row, index.teams),
        nowMs,
        nowMs,
        `${budgetLabel(row)} is forecast over budget by ${end}`,
        row.forecast,
        budgetDetails(row),
      ),
    );
  }
  return out;
}

/** The current windows of the members a plan rule watches (a window whose reset passed is stale). */
function currentWindows(
  plans: readonly PlanMember[],
  rule: { window: "primary" | "secondary" | "any"; limitId?: string | undefined },
  nowMs: number,
): { member: PlanMember; window: WindowName; w: PlanWindow }[] {
  const out: { member: PlanMember; window: WindowName; w: PlanWindow }[] = [];
  for (const member of plans) {
    if (rule.limitId !== undefined && member.state.limitId !== rule.limitId) continue;
    for (const window of windowsOf(rule.window)) {
      const w = member.state[window];
      if (w === null || (w.resetsAtMs !== null && nowMs >= w.resetsAtMs)) continue;
      out.push({ member, window, w });
    }
  }
  return out;
}

const resetText = (w: PlanWindow): string | null =>
  w.resetsAtMs === null ? null : new Date(w.resetsAtMs).toISOString();

/**
 * `planWindow`: a window's used % at or over `thresholdPct`; per developer, or per team (one alert
 * per team, limit and window, naming the fullest member in its details).
 */
export function planWindow(rule: RuleOf<"planWindow">, index: SnapshotIndex): RuleEvaluation {
  const { snap, nowMs } = index;
  if (snap.plans === null || snap.plans === undefined) return { ...empty(), heldAll: true };
  const out = empty();
  const top = new Map<string, { subject: Subject; member: PlanMember; window: WindowName; w: PlanWindow }>();
  for (const { member, window, w } of currentWindows(snap.plans, rule, nowMs)) {
    if (w.usedPercent < rule.thresholdPct) continue;
    const group = planGroup(member.state.limitId, window);
    const subject: Subject =
      rule.scope === "developer"
        ? developer(member.target, member.team, group)
        : { type: "team", id: member.team, group, targetId: null, threadId: null, team: member.team };
    const key = `${subject.id}\u0000${group}`;
    const prev = top.get(key);
    if (prev === undefined || w.usedPercent > prev.w.usedPercent)
      top.set(key, { subject, member, window, w });
  }
  for (const { subject, member, window, w } of top.values()) {
    const who =
      rule.scope === "developer" ? member.target : `team ${member.team === "" ? "(none)" : member.team}`;
    out.conditions.push(
      condition(
        rule,
        subject,
        w.observedAtMs,
        nowMs,
        `${who} has used ${rule.thresholdPct} % or more of the ${window} window of limit ${clip(member.state.limitId)}`,
        w.usedPercent,
        {
          limitId: clip(member.state.limitId),
          window,
          usedPercent: w.usedPercent,
          member: member.target,
          resetsAt: resetText(w),
        },
      ),
    );
  }
  return out;
}

/**
 * `planForecast`: a developer's window forecast to reach 100 % at least `minMinutesBeforeReset`
 * minutes before it resets (limits.ts `forecastWindow`, the same forecast the Plan limits view shows).
 */
export function planForecast(rule: RuleOf<"planForecast">, index: SnapshotIndex): RuleEvaluation {
  const { snap, nowMs } = index;
  if (snap.plans === null || snap.plans === undefined) return { ...empty(), heldAll: true };
  const out = empty();
  for (const { member, window, w } of currentWindows(snap.plans, rule, nowMs)) {
    const f = forecastWindow(w, member.samples[window], nowMs);
    if (f.status !== "exhausts" || f.exhaustsAtMs === null || w.resetsAtMs === null) continue;
    const earlyMin = Math.floor((w.resetsAtMs - f.exhaustsAtMs) / 60_000);
    if (earlyMin < rule.minMinutesBeforeReset) continue;
    out.conditions.push(
      condition(
        rule,
        developer(member.target, member.team, planGroup(member.state.limitId, window)),
        nowMs,
        nowMs,
        `${member.target} is forecast to use up the ${window} window of limit ${clip(member.state.limitId)} before it resets`,
        earlyMin,
        {
          limitId: clip(member.state.limitId),
          window,
          usedPercent: w.usedPercent,
          exhaustsAt: new Date(f.exhaustsAtMs).toISOString(),
          resetsAt: resetText(w),
          burnPctPerHour: f.burnPctPerHour,
          method: f.method,
        },
      ),
    );
  }
  return out;
}

/**
 * `limitReached`: one alert per developer stopped by a limit — a stored plan limit with
 * `rateLimitReachedType` set (cleared by the next report with windows; limits.ts `mergePlanLimit`),
 * or a turn that failed with a limit error, until that thread's next turn starts (`movedOnFrom`) or
 * `windowMs` passes. Held only when neither source can be read.
 */
export function limitReached(rule: RuleOf<"limitReached">, index: SnapshotIndex): RuleEvaluation {
  const { snap, nowMs } = index;
  const plans = snap.plans ?? null;
  if (plans === null && snap.failures === null) return { ...empty(), heldAll: true };
  const out = empty();
  const found = new Map<
    string,
    { sinceMs: number; reasons: string[]; limitIds: string[]; turnId: string | null }
  >();
  const entry = (target: string) => {
    const e = found.get(target) ?? { sinceMs: nowMs, reasons: [], limitIds: [], turnId: null };
    found.set(target, e);
    return e;
  };
  for (const p of plans ?? []) {
    if (p.state.rateLimitReachedType === null) continue;
    const e = entry(p.target);
    e.sinceMs = Math.min(e.sinceMs, p.state.rateLimitReachedAtMs ?? nowMs);
    e.reasons.push(clip(p.state.rateLimitReachedType));
    e.limitIds.push(clip(p.state.limitId));
  }
  for (const f of snap.failures ?? []) {
    if (f.codexErrorInfo === null || !LIMIT_ERROR_KINDS.has(f.codexErrorInfo)) continue;
    if (f.atMs <= nowMs - rule.windowMs) continue;
    // Stale thread state while the target is down or not settled (evaluate.ts turnFailed): held.
    if (index.settledTeams.get(f.targetId) === null) {
      out.held.add(subjectKey({ type: "developer", id: f.targetId }));
      continue;
    }
    if (movedOnFrom(f, index.threads.get(f.threadId))) continue;
    const e = entry(f.targetId);
    e.sinceMs = Math.min(e.sinceMs, f.atMs);
    if (!e.reasons.includes(f.codexErrorInfo)) e.reasons.push(f.codexErrorInfo);
    e.turnId = f.turnId;
  }
  for (const [target, e] of found) {
    // At most a few distinct reasons (one per limit id a server reports, and the two error kinds).
    const reasons = [...new Set(e.reasons)].sort().slice(0, 5);
    out.conditions.push(
      condition(
        rule,
        developer(
          target,
          index.teams.get(target) ?? plans?.find((p) => p.target === target)?.team ?? null,
          "",
        ),
        e.sinceMs,
        nowMs,
        `${target} is stopped by a limit (${reasons.join(", ")})`,
        null,
        {
          reasons: reasons.join(","),
          limitIds: [...new Set(e.limitIds)].sort().slice(0, 5).join(","),
          lastTurnId: e.turnId,
        },
      ),
    );
  }
  return out;
}
