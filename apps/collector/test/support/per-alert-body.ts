/**
 * Transitional, for the engine tests written when every notification was about one alert: the
 * per-alert view (`event`, `alert`, `subject`) of a webhook body. Until the dispatcher groups,
 * each outbox row is a version 1 payload that the webhook sends as a group of one
 * (notifiers/legacy-payload.ts); a body with more members is not per-alert, and this throws so
 * that a test still assuming one alert per message says so.
 */
import type { WebhookBody } from "../../src/alerts/notifiers/webhook.ts";
import type { NotificationPayload } from "../../src/alerts/views.ts";

export type PerAlertBody = WebhookBody & Pick<NotificationPayload, "event" | "alert" | "subject">;

const EVENT = { new: "firing", firing: "repeat", resolved: "resolved" } as const;

/** Parse a webhook body of a group of one as its alert's notification. */
export function perAlertBody(text: string): PerAlertBody {
  const body = JSON.parse(text) as WebhookBody;
  const [member, ...rest] = body.members;
  if (!member || rest.length > 0 || body.truncated > 0)
    throw new Error(
      `expected a notification about one alert, got a group of ${body.members.length + body.truncated}`,
    );
  const a = member.alert;
  return {
    ...body,
    event: EVENT[member.change],
    alert: a,
    subject: {
      type: a.subjectType,
      id: a.subjectId,
      group: a.group ?? null,
      target: a.target,
      threadId: a.threadId,
      team: a.team ?? null,
    },
  };
}
