/**
 * An alert's labels: what routes, groups, inhibit rules and silences match on (Alertmanager's
 * model). Absent values are omitted, so a matcher `team: ""` never matches an alert without a team.
 */
import type { AlertView } from "@codex-fleet/protocol/api";

/** The label names an alert can carry (and that config may name in groupBy, matchers and equal). */
export const ALERT_LABEL_NAMES = [
  "ruleId",
  "kind",
  "severity",
  "subjectType",
  "subjectId",
  "group",
  "team",
  "target",
  "threadId",
  /** Plan-window alerts (planWindow, planForecast): the limit and the window, from `group`. */
  "limitId",
  "window",
  /** Budget alerts (budget, budgetForecast): the budget id, which is their `group`. */
  "budget",
] as const;
export type AlertLabelName = (typeof ALERT_LABEL_NAMES)[number];
export type AlertLabels = Partial<Record<AlertLabelName, string>>;

const BUDGET_KINDS: ReadonlySet<string> = new Set(["budget", "budgetForecast"]);
const PLAN_WINDOW_KINDS: ReadonlySet<string> = new Set(["planWindow", "planForecast"]);

/** The labels of `alert`. */
export function alertLabels(alert: AlertView): AlertLabels {
  const labels: AlertLabels = {
    ruleId: alert.ruleId,
    kind: alert.kind,
    severity: alert.severity,
    subjectType: alert.subjectType,
    subjectId: alert.subjectId,
  };
  if (alert.group) labels.group = alert.group;
  if (alert.team) labels.team = alert.team;
  if (alert.target) labels.target = alert.target;
  if (alert.threadId) labels.threadId = alert.threadId;
  const group = alert.group ?? "";
  if (group !== "" && BUDGET_KINDS.has(alert.kind)) labels.budget = group;
  if (group !== "" && PLAN_WINDOW_KINDS.has(alert.kind)) {
    // `limitId/window` (money-rules.ts planGroup): the window name has no '/', a limit id might.
    const cut = group.lastIndexOf("/");
    if (cut > 0) {
      labels.limitId = group.slice(0, cut);
      labels.window = group.slice(cut + 1);
    }
  }
  return labels;
}

/** The values of `names` in `labels` ("" for an absent label), as a stable group key. */
export function groupKeyOf(labels: AlertLabels, names: readonly AlertLabelName[]): string {
  return JSON.stringify(names.map((n) => [n, labels[n] ?? ""]));
}
