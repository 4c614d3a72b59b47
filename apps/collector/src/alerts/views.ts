/** Alert records → the API/live view and the notification payload. Neither ever carries a secret. */
import type { AlertRuleView, AlertView } from "@codex-fleet/protocol/api";
import type { AlertRecord, EffectiveRule, NotificationEvent } from "./types.ts";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** An alert as GET /api/v1/alerts and the live feed show it. */
export function alertView(a: AlertRecord): AlertView {
  return {
    id: a.id,
    ruleId: a.ruleId,
    kind: a.kind,
    subjectType: a.subject.type,
    subjectId: a.subject.id,
    group: a.subject.group === "" ? null : a.subject.group,
    target: a.subject.targetId,
    threadId: a.subject.threadId,
    team: a.subject.team,
    value: a.value,
    severity: a.severity,
    state: a.state,
    summary: a.summary,
    pendingSince: new Date(a.pendingSinceMs).toISOString(),
    firingSince: iso(a.firingSinceMs),
    resolvedAt: iso(a.resolvedAtMs),
    ackBy: a.ackBy,
    ackAt: iso(a.ackAtMs),
    ackRole: a.ackRole,
    silenced: a.silenced,
  };
}

/** A rule as GET /api/v1/alerts/rules shows it. */
export function ruleView(rule: EffectiveRule): AlertRuleView {
  return { ...rule };
}

/** The dashboard page for an alert: its thread, the Usage page (budgets), else the alerts list. */
export function alertPageLink(baseUrl: string, a: Pick<AlertView, "threadId" | "kind">): string {
  const base = baseUrl.replace(/\/+$/, "");
  if (a.threadId) return `${base}/threads/${encodeURIComponent(a.threadId)}`;
  if (a.kind === "budget" || a.kind === "budgetForecast") return `${base}/usage`;
  return `${base}/alerts?state=all`;
}

/** {@link alertPageLink} of a record. */
export function dashboardLink(baseUrl: string, a: AlertRecord): string {
  return alertPageLink(baseUrl, { threadId: a.subject.threadId, kind: a.kind });
}

/** What every notifier sends, as data (stored in the outbox so a retry after a restart sends the same). */
export interface NotificationPayload {
  version: 1;
  /** Stable across retries and restarts: receivers deduplicate on it. */
  id: string;
  event: NotificationEvent;
  state: AlertRecord["state"];
  alert: AlertView;
  subject: {
    type: AlertRecord["subject"]["type"];
    id: string;
    group: string | null;
    target: string | null;
    threadId: string | null;
    team: string | null;
  };
  dashboardUrl: string;
  createdAt: string;
}

/** Build the payload of `event` for `alert` at `nowMs`. */
export function notificationPayload(
  alert: AlertRecord,
  event: NotificationEvent,
  nowMs: number,
  baseUrl: string,
): NotificationPayload {
  const view = alertView(alert);
  return {
    version: 1,
    id: `${alert.id}:${event}:${nowMs}`,
    event,
    state: alert.state,
    alert: view,
    subject: {
      type: alert.subject.type,
      id: alert.subject.id,
      group: view.group ?? null,
      target: alert.subject.targetId,
      threadId: alert.subject.threadId,
      team: alert.subject.team,
    },
    dashboardUrl: dashboardLink(baseUrl, alert),
    createdAt: new Date(nowMs).toISOString(),
  };
}
