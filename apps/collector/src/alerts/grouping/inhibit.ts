/**
 * Inhibition, as Alertmanager inhibits: an alert matching a rule's `targetMatchers` is muted
 * (shown with `inhibited: true`, never notified) while another alert matching `sourceMatchers`
 * fires with the same values of the `equal` labels (an absent label equals an absent one). An
 * alert never inhibits itself. Pure.
 */
import type { InhibitRuleConfig } from "../../config/route-schema.ts";
import type { AlertLabelName, AlertLabels } from "../labels.ts";
import { compile, matchesLabels } from "./route.ts";

/** An inhibit rule with compiled matchers. */
export interface InhibitRule {
  source: ReturnType<typeof compile>;
  target: ReturnType<typeof compile>;
  equal: readonly AlertLabelName[];
}

/** An alert as inhibition sees it. */
export interface InhibitCandidate {
  id: string;
  labels: AlertLabels;
}

/**
 * The built-in rule (`alerts.inhibitThreadsOfDownTargets`, on by default): while a target is down
 * or unauthorized, the alerts about its threads are inhibited — their state is unknown meanwhile,
 * and the one target alert says what the person on call needs to know.
 */
export const TARGET_DOWN_RULE: InhibitRuleConfig = {
  sourceMatchers: { kind: { re: "targetUnreachable|targetUnauthorized" }, subjectType: "target" },
  targetMatchers: { subjectType: "thread" },
  equal: ["target"],
};

/** The rules in force: the configured ones, then the built-in one when enabled. */
export function inhibitRules(config: {
  inhibit: readonly InhibitRuleConfig[];
  inhibitThreadsOfDownTargets: boolean;
}): InhibitRule[] {
  const all = [...config.inhibit, ...(config.inhibitThreadsOfDownTargets ? [TARGET_DOWN_RULE] : [])];
  return all.map((r) => ({
    source: compile(r.sourceMatchers),
    target: compile(r.targetMatchers),
    equal: r.equal,
  }));
}

/** True when a firing alert (other than `alert`) inhibits `alert` under one of `rules`. */
export function inhibited(
  alert: InhibitCandidate,
  firing: readonly InhibitCandidate[],
  rules: readonly InhibitRule[],
): boolean {
  return rules.some(
    (rule) =>
      matchesLabels(rule.target, alert.labels) &&
      firing.some(
        (source) =>
          source.id !== alert.id &&
          matchesLabels(rule.source, source.labels) &&
          rule.equal.every((name) => (source.labels[name] ?? "") === (alert.labels[name] ?? "")),
      ),
  );
}

/** The ids of `alerts` inhibited by the firing ones among them. */
export function inhibitedIds(
  alerts: readonly (InhibitCandidate & { firing: boolean })[],
  rules: readonly InhibitRule[],
): Set<string> {
  if (rules.length === 0) return new Set();
  const firing = alerts.filter((a) => a.firing);
  // Only rules with a firing source can inhibit anything: the common case is none at all.
  const live = rules.filter((r) => firing.some((s) => matchesLabels(r.source, s.labels)));
  if (live.length === 0) return new Set();
  return new Set(alerts.filter((a) => inhibited(a, firing, live)).map((a) => a.id));
}
