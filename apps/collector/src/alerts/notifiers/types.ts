/** The one contract every notifier fulfils: `send(notification)` makes one delivery attempt. */
import type { GroupNotification } from "./group-payload.ts";

/** The outcome of one attempt. `error` never contains a secret (URLs with keys, routing keys, passwords). */
export interface SendResult {
  ok: boolean;
  /** HTTP status or SMTP reply code, or null when no response arrived. */
  status: number | null;
  error: string | null;
  /** Worth another attempt: no response, timeout, 408, 429, 5xx (SMTP: 4xx). */
  retryable: boolean;
  /** The receiver's Retry-After, when it gave one. */
  retryAfterMs: number | null;
  durationMs: number;
}

/** The receiver kinds (`alerts.notify[].type`). */
export const NOTIFIER_TYPES = [
  "webhook",
  "slack",
  "pagerduty",
  "opsgenie",
  "teams",
  "email",
  "alertmanager",
] as const;
export type NotifierType = (typeof NOTIFIER_TYPES)[number];

/** A destination for alert notifications: one message per alert group. */
export interface Notifier {
  /** Stable name (delivery log, outbox rows, routes). */
  readonly name: string;
  readonly type: NotifierType;
  /** One attempt; never throws (failures are results). */
  send(notification: GroupNotification, signal?: AbortSignal): Promise<SendResult>;
}
