/** The one contract every notifier fulfils: `send(notification)` makes one delivery attempt. */
import type { NotificationPayload } from "../views.ts";

/** The outcome of one attempt. `error` never contains the notifier's URL (a Slack URL is a secret). */
export interface SendResult {
  ok: boolean;
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  error: string | null;
  /** Worth another attempt: no response, timeout, 408, 429, 5xx. */
  retryable: boolean;
  /** The receiver's Retry-After, when it gave one. */
  retryAfterMs: number | null;
  durationMs: number;
}

/** A destination for alert notifications. */
export interface Notifier {
  /** Stable name (delivery log, outbox rows). */
  readonly name: string;
  readonly type: "webhook" | "slack";
  /** One attempt; never throws (failures are results). */
  send(notification: NotificationPayload, signal?: AbortSignal): Promise<SendResult>;
}
