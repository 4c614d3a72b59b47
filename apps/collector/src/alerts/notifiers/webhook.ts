/**
 * Generic webhook: the group notification (version 2, one per alert group) as JSON, signed with
 * HMAC-SHA256 over the exact body bytes.
 *
 * Headers: `X-Codex-Fleet-Signature: sha256=<hex>` (only when a secret is configured),
 * `X-Codex-Fleet-Timestamp: <unix ms>` (equal to the body's `sentAt`, which the signature covers,
 * so receivers can refuse stale replays), `X-Codex-Fleet-Event` (the group's status: firing or
 * resolved), `X-Codex-Fleet-Delivery` (the notification id: stable across retries, for
 * deduplication).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Secret } from "../../config/secret.ts";
import type { GroupNotification } from "./group-payload.ts";
import { postJson } from "./http.ts";
import type { Notifier, SendResult } from "./types.ts";

export const SIGNATURE_HEADER = "x-codex-fleet-signature";
export const TIMESTAMP_HEADER = "x-codex-fleet-timestamp";
export const EVENT_HEADER = "x-codex-fleet-event";
export const DELIVERY_HEADER = "x-codex-fleet-delivery";

/** `sha256=<hex>` of HMAC-SHA256(secret, body). */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** Constant-time check of a signature header against the body (what a receiver does). */
export function verifySignature(secret: string, body: string, header: string | undefined | null): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(secret, body));
  const have = Buffer.from(header);
  return want.length === have.length && timingSafeEqual(want, have);
}

/** The webhook body: the notification plus the time of this attempt. */
export interface WebhookBody extends GroupNotification {
  sentAt: string;
}

export interface WebhookOptions {
  name: string;
  url: string;
  secret: Secret | null;
  timeoutMs: number;
  userAgent?: string;
  now?: () => number;
  /** `network.allowLinkLocal`. */
  allowLinkLocal?: boolean;
}

/** A webhook notifier (one attempt per `send`; retries are deliver.ts's job). */
export function createWebhookNotifier(opts: WebhookOptions): Notifier {
  const now = opts.now ?? Date.now;
  return {
    name: opts.name,
    type: "webhook",
    send(notification: GroupNotification, signal?: AbortSignal): Promise<SendResult> {
      const sentAtMs = now();
      const body = JSON.stringify({
        ...notification,
        sentAt: new Date(sentAtMs).toISOString(),
      } satisfies WebhookBody);
      const headers: Record<string, string> = {
        "user-agent": opts.userAgent ?? "codex-fleet",
        [TIMESTAMP_HEADER]: String(sentAtMs),
        [EVENT_HEADER]: notification.status,
        [DELIVERY_HEADER]: notification.id,
      };
      // The secret is revealed here only, into the HMAC; it never enters the body or a log.
      if (opts.secret !== null) headers[SIGNATURE_HEADER] = signBody(opts.secret.reveal(), body);
      return postJson({
        url: opts.url,
        body,
        headers,
        timeoutMs: opts.timeoutMs,
        signal,
        now,
        allowLinkLocal: opts.allowLinkLocal,
      });
    },
  };
}
