/** Notifiers from the config. */
import { createHash } from "node:crypto";
import type { NotifierRuntimeConfig } from "../../config/schema.ts";
import type { RetryPolicy } from "./deliver.ts";
import { createSlackNotifier } from "./slack.ts";
import type { Notifier } from "./types.ts";
import { createWebhookNotifier } from "./webhook.ts";

/** A configured notifier with its retry policy. */
export interface ConfiguredNotifier {
  notifier: Notifier;
  policy: RetryPolicy;
  /** Per HTTP request. */
  timeoutMs: number;
}

/**
 * The name a notifier is known by in the delivery log: the configured `name`, else the type and a
 * short hash of the URL — stable when the list is reordered, and it does not reveal the URL
 * (a Slack webhook URL is itself a credential).
 */
export function notifierName(config: Pick<NotifierRuntimeConfig, "type" | "name" | "url">): string {
  return config.name ?? `${config.type}-${createHash("sha256").update(config.url).digest("hex").slice(0, 8)}`;
}

/** Build every configured notifier. */
export function createNotifiers(
  configs: readonly NotifierRuntimeConfig[],
  opts: { userAgent?: string; now?: () => number; allowLinkLocal?: boolean } = {},
): ConfiguredNotifier[] {
  return configs.map((c) => {
    const name = notifierName(c);
    const policy = { maxAttempts: c.maxAttempts, minBackoffMs: c.minBackoffMs, maxBackoffMs: c.maxBackoffMs };
    const notifier =
      c.type === "webhook"
        ? createWebhookNotifier({ name, url: c.url, secret: c.secret, timeoutMs: c.timeoutMs, ...opts })
        : createSlackNotifier({
            name,
            url: c.url,
            timeoutMs: c.timeoutMs,
            now: opts.now,
            allowLinkLocal: opts.allowLinkLocal,
          });
    return { notifier, policy, timeoutMs: c.timeoutMs };
  });
}
