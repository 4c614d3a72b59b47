/** Notifiers from the config. */
import { createHash } from "node:crypto";
import type { NotifierRuntimeConfig } from "../../config/schema.ts";
import type { Secret } from "../../config/secret.ts";
import { createAlertmanagerNotifier } from "./alertmanager.ts";
import type { RetryPolicy } from "./deliver.ts";
import { createEmailNotifier } from "./email.ts";
import { createOpsgenieNotifier } from "./opsgenie.ts";
import { createPagerDutyNotifier } from "./pagerduty.ts";
import { createSlackNotifier } from "./slack.ts";
import { createTeamsNotifier } from "./teams.ts";
import type { Notifier } from "./types.ts";
import { createWebhookNotifier } from "./webhook.ts";

/** A configured notifier with its retry policy. */
export interface ConfiguredNotifier {
  notifier: Notifier;
  policy: RetryPolicy;
  /** Per HTTP request. */
  timeoutMs: number;
}

/** The SMTP port when the config names none. */
export function emailPort(c: { port?: number; secure: boolean }): number {
  return c.port ?? (c.secure ? 465 : 587);
}

/** What identifies a receiver's destination: its URL, or for email the server and recipients. */
function destination(config: NotifierRuntimeConfig): string {
  if (config.type === "email") return `smtp://${config.host}:${emailPort(config)}/${config.to.join(",")}`;
  return config.url;
}

/**
 * The name a notifier is known by in the delivery log and routes: the configured `name`, else the
 * type and a short hash of its destination — stable when the list is reordered, and it does not
 * reveal the URL (a Slack or Teams webhook URL is itself a credential).
 */
export function notifierName(config: NotifierRuntimeConfig): string {
  return (
    config.name ??
    `${config.type}-${createHash("sha256").update(destination(config)).digest("hex").slice(0, 8)}`
  );
}

function required(secret: Secret | null, type: string, key: string): Secret {
  // load.ts reports an unset variable as a config error; reaching here without one is a bug.
  if (secret === null) throw new Error(`a ${type} notifier needs its ${key} secret`);
  return secret;
}

/** Build one notifier. */
export function createNotifier(
  c: NotifierRuntimeConfig,
  opts: { userAgent?: string; now?: () => number; allowLinkLocal?: boolean } = {},
): Notifier {
  const name = notifierName(c);
  const common = { name, timeoutMs: c.timeoutMs, now: opts.now, allowLinkLocal: opts.allowLinkLocal };
  switch (c.type) {
    case "webhook":
      return createWebhookNotifier({ ...common, url: c.url, secret: c.secret, userAgent: opts.userAgent });
    case "slack":
      return createSlackNotifier({ ...common, url: c.url });
    case "teams":
      return createTeamsNotifier({ ...common, url: c.url });
    case "pagerduty":
      return createPagerDutyNotifier({
        ...common,
        url: c.url,
        source: c.source,
        routingKey: required(c.secret, "pagerduty", "routingKeyEnv"),
      });
    case "opsgenie":
      return createOpsgenieNotifier({
        ...common,
        url: c.url,
        tags: c.tags,
        apiKey: required(c.secret, "opsgenie", "apiKeyEnv"),
      });
    case "alertmanager":
      return createAlertmanagerNotifier({
        ...common,
        url: c.url,
        firingEndsAfterMs: c.firingEndsAfterMs ?? null,
      });
    case "email":
      return createEmailNotifier({
        name,
        host: c.host,
        port: emailPort(c),
        secure: c.secure,
        starttls: c.starttls,
        user: c.user ?? null,
        password: c.secret,
        from: c.from,
        to: c.to,
        ca: c.ca ?? null,
        timeoutMs: c.timeoutMs,
        allowLinkLocal: opts.allowLinkLocal,
      });
  }
}

/** Build every configured notifier. */
export function createNotifiers(
  configs: readonly NotifierRuntimeConfig[],
  opts: { userAgent?: string; now?: () => number; allowLinkLocal?: boolean } = {},
): ConfiguredNotifier[] {
  return configs.map((c) => ({
    notifier: createNotifier(c, opts),
    policy: { maxAttempts: c.maxAttempts, minBackoffMs: c.minBackoffMs, maxBackoffMs: c.maxBackoffMs },
    timeoutMs: c.timeoutMs,
  }));
}
