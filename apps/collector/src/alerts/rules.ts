/** The rules the product ships, and the effective rule set of a config. */
import { type AlertRule, AlertRuleSchema, type AlertsConfig } from "../config/alerts-schema.ts";
import type { EffectiveRule } from "./types.ts";

/**
 * Default rules (issue #4): used when the config lists none. Ids match DESIGN.md's example, so a
 * config that copies one line and changes a threshold keeps the same alert identities.
 */
export const DEFAULT_RULES: readonly AlertRule[] = [
  { id: "approval-wait", kind: "waitingOnApproval", forMs: 300_000, severity: "warning" },
  { id: "input-wait", kind: "waitingOnUserInput", forMs: 600_000, severity: "warning" },
  { id: "stalled", kind: "noProgress", forMs: 600_000, severity: "warning" },
  {
    id: "turn-failed",
    kind: "turnFailed",
    minCount: 1,
    windowMs: 600_000,
    scope: "developer",
    severity: "warning",
  },
  {
    id: "turn-failure-rate",
    kind: "turnFailed",
    minCount: 5,
    windowMs: 900_000,
    scope: "developer",
    severity: "critical",
  },
  { id: "system-error", kind: "systemError", forMs: 0, severity: "warning" },
  { id: "target-down", kind: "targetUnreachable", forMs: 120_000, severity: "critical" },
  { id: "target-unauthorized", kind: "targetUnauthorized", forMs: 120_000, severity: "critical" },
  { id: "budget", kind: "dailySpend", scope: "developer", thresholdUsd: 50, severity: "warning" },
  { id: "context", kind: "contextWindow", thresholdPct: 90, forMs: 0, severity: "warning" },
  { id: "goal-stalled", kind: "goalStalled", forMs: 0, severity: "warning" },
  // Issue 14 (README "Budgets", "Plan limits"): a developer stopped by a limit is always worth
  // knowing; a configured budget is the operator's own line, so reaching it or being forecast past
  // it is too (no budgets configured: these see nothing). planWindow and planForecast are opt-in:
  // their thresholds depend on the plan, and a forecast from the last hour's slope swings with
  // every working session.
  { id: "limit-reached", kind: "limitReached", windowMs: 3_600_000, severity: "warning" },
  { id: "budget-over", kind: "budget", thresholdPct: 100, severity: "warning" },
  { id: "budget-forecast", kind: "budgetForecast", severity: "warning" },
].map((rule) => Object.freeze(AlertRuleSchema.parse(rule)));

/**
 * The rules in force: the configured ones, or the defaults when none are listed, each with its
 * repeat interval resolved. Disabled rules are included (the rules API lists them); the engine
 * skips them.
 */
export function effectiveRules(alerts: Pick<AlertsConfig, "rules" | "repeatIntervalMs">): EffectiveRule[] {
  const source = alerts.rules.length === 0 ? "default" : "config";
  const rules = alerts.rules.length === 0 ? DEFAULT_RULES : alerts.rules;
  return rules.map((rule) => ({
    ...rule,
    repeatIntervalMs: rule.repeatIntervalMs ?? alerts.repeatIntervalMs,
    source,
  }));
}
