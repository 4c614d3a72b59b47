/**
 * Alertmanager (API v2, `POST {url}/api/v2/alerts`): the group's members as postable alerts, one
 * per member, so teams that route through their own Alertmanager keep its routing, grouping and
 * silences. Labels are codex-fleet's alert labels (alerts/labels.ts) plus `alertname` (the rule)
 * and `codex_fleet_group` (the group); a resolved member carries `endsAt`.
 */
import type { AlertView } from "@codex-fleet/protocol/api";
import { alertLabels } from "../labels.ts";
import type { GroupMember, GroupNotification } from "./group-payload.ts";
import { joinUrl, postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

/** A test alert ends by itself this long after it was sent. */
const TEST_ALERT_MS = 5 * 60_000;

/** One element of the POST /api/v2/alerts body (Alertmanager's `postableAlert`). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL: string;
}

/** "ruleId=approval-stuck,team=payments": the group as a readable label value. */
export function groupLabelValue(groupLabels: Record<string, string>): string {
  return Object.entries(groupLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

function startsAt(a: AlertView, fallback: string): string {
  return a.firingSince ?? a.pendingSince ?? fallback;
}

/** The postable alert of one member. */
function postable(n: GroupNotification, m: GroupMember, firingEndsAfterMs: number | null): PostableAlert {
  const a = m.alert;
  const createdMs = Date.parse(n.createdAt);
  const labels: Record<string, string> = {
    alertname: a.ruleId,
    ...alertLabels(a),
    codex_fleet_group: groupLabelValue(n.groupLabels),
  };
  if (n.test) labels.codex_fleet_test = "true";
  const alert: PostableAlert = {
    labels,
    annotations: { summary: a.summary, dashboard: m.dashboardUrl, codex_fleet_alert_id: a.id },
    startsAt: startsAt(a, n.createdAt),
    generatorURL: m.dashboardUrl,
  };
  let endsAtMs: number | null = null;
  if (m.change === "resolved" || a.state === "resolved") endsAtMs = Date.parse(a.resolvedAt ?? n.createdAt);
  else if (n.test) endsAtMs = createdMs + TEST_ALERT_MS;
  else if (firingEndsAfterMs !== null) endsAtMs = createdMs + firingEndsAfterMs;
  // Alertmanager refuses the whole batch when one alert ends before it starts.
  if (endsAtMs !== null)
    alert.endsAt = new Date(Math.max(endsAtMs, Date.parse(alert.startsAt))).toISOString();
  return alert;
}

/** The POST /api/v2/alerts body for a group notification: one alert per listed member. */
export function alertmanagerAlerts(
  n: GroupNotification,
  firingEndsAfterMs: number | null = null,
): PostableAlert[] {
  return n.members.map((m) => postable(n, m, firingEndsAfterMs));
}

export interface AlertmanagerOptions {
  name: string;
  /** Alertmanager's base URL (a path prefix is kept). */
  url: string;
  firingEndsAfterMs?: number | null;
  timeoutMs: number;
  now?: () => number;
  allowLinkLocal?: boolean;
}

/** An Alertmanager notifier (one attempt per `send`). */
export function createAlertmanagerNotifier(opts: AlertmanagerOptions): Notifier {
  return {
    name: opts.name,
    type: "alertmanager",
    send(n: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      return postJson({
        url: joinUrl(opts.url, "/api/v2/alerts"),
        body: JSON.stringify(alertmanagerAlerts(n, opts.firingEndsAfterMs ?? null)),
        headers: {},
        timeoutMs: opts.timeoutMs,
        signal,
        now: opts.now,
        allowLinkLocal: opts.allowLinkLocal,
      });
    },
  };
}
