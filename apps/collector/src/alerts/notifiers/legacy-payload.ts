/**
 * Outbox rows queued before the upgrade to grouped notifications hold a version 1 payload (one
 * alert, one event). They are still owed: `asGroupNotification` turns one into a group of one, so
 * every receiver only ever sees version 2.
 */
import type { NotificationPayload } from "../views.ts";
import { groupTitle } from "./format.ts";
import type { GroupNotification } from "./group-payload.ts";

/** A v2 notification as is; a v1 payload as a one-member group for `receiver`. */
export function asGroupNotification(
  payload: GroupNotification | NotificationPayload,
  receiver: string,
): GroupNotification {
  if (payload.version === 2) return payload;
  const a = payload.alert;
  const status = payload.event === "resolved" ? "resolved" : "firing";
  const groupLabels: Record<string, string> = { ruleId: a.ruleId };
  if (a.team) groupLabels.team = a.team;
  return {
    version: 2,
    id: payload.id,
    receiver,
    // v1 notified per alert: the alert id is what its trigger and resolve share.
    groupKey: `alert:${a.id}`,
    groupLabels,
    status,
    severity: a.severity,
    counts: {
      firing: status === "firing" ? 1 : 0,
      new: payload.event === "firing" ? 1 : 0,
      resolved: status === "resolved" ? 1 : 0,
    },
    members: [
      {
        change: payload.event === "firing" ? "new" : payload.event === "repeat" ? "firing" : "resolved",
        alert: a,
        dashboardUrl: payload.dashboardUrl,
      },
    ],
    truncated: 0,
    title: groupTitle(status, 1, groupLabels),
    dashboardUrl: payload.dashboardUrl,
    createdAt: payload.createdAt,
  };
}
