/**
 * The `alerts` config section (DESIGN "Status and alerts"). Rules are data: each has an `id`, a
 * `kind` that selects the condition and the kind's thresholds. When `rules` is omitted or empty,
 * the alerts module uses its default rules (`alerts/rules.ts`); a listed set replaces them.
 * Objects are strict (unknown keys are config errors, like everywhere else in the config).
 */
import { SeveritySchema } from "@codex-fleet/protocol/api";
import { GOAL_STATUSES, STALLED_GOAL_STATUSES } from "@codex-fleet/protocol/status";
import { z } from "zod";
import { InhibitRuleSchema, RouteSchema, unknownReceivers } from "./route-schema.ts";

const durationMs = z.int().nonnegative();
const positiveMs = z.int().positive();

/** Fields every rule has. */
const ruleBase = {
  id: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a non-empty id of letters, digits, '.', '_' or '-'"),
  severity: SeveritySchema.default("warning"),
  /** `false` keeps the rule listed (and shown by GET /api/v1/alerts/rules) but never evaluated. */
  enabled: z.boolean().default(true),
  /** Overrides `alerts.repeatIntervalMs` for this rule; 0 = never repeat. */
  repeatIntervalMs: durationMs.optional(),
};

/** Rules that fire after a condition has held for `forMs` (the pending duration). */
const durationRule = <K extends string>(kind: K) =>
  z.strictObject({ ...ruleBase, kind: z.literal(kind), forMs: durationMs.default(0) });

/** Who a failure count or a spend total is summed over. `developer` = one target (one app-server). */
const scope = z.enum(["thread", "developer", "team", "fleet"]);

/** Budget ids a budget rule watches (omitted: every budget); checked against `budgets:` (schema.ts). */
const budgetIds = z
  .array(z.string().min(1).max(100))
  .min(1, "must list at least one budget id (omit it to watch every budget)")
  .max(1000)
  .optional();
/** Which plan window a rule watches. */
const planWindowChoice = z.enum(["primary", "secondary", "any"]).default("any");
/** Narrows a plan rule to one limit (`codex` is the usual one); omitted: every limit. */
const limitIdFilter = z.string().min(1).max(100).optional();

/** One alert rule; `kind` selects the condition. */
export const AlertRuleSchema = z.discriminatedUnion("kind", [
  durationRule("waitingOnApproval"),
  durationRule("waitingOnUserInput"),
  /** `forMs`: how long an active thread (not waiting on anyone) may go without any event. */
  durationRule("noProgress"),
  /**
   * Failed turns, grouped by `codexErrorInfo`: fires while at least `minCount` turns failed within
   * the last `windowMs` (1 = every single failure; more = a rate), summed per `scope`.
   */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("turnFailed"),
    minCount: z.int().positive().default(1),
    windowMs: positiveMs.default(600_000),
    scope: scope.default("developer"),
  }),
  durationRule("systemError"),
  durationRule("targetUnreachable"),
  durationRule("targetUnauthorized"),
  /** Cost of the current UTC day (from the hourly rollup) at or over `thresholdUsd`. */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("dailySpend"),
    scope: z.enum(["developer", "team", "fleet"]),
    thresholdUsd: z.number().positive(),
  }),
  /**
   * Budgets (top-level `budgets:`, README "Budgets"): fires per budget while its spent reaches
   * `thresholdPct` of its amount. `budgets`: the ids it watches (default all); each must exist.
   */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("budget"),
    thresholdPct: z.number().positive().max(1000),
    budgets: budgetIds,
  }),
  /** Fires per budget while its forecast at the end of the period is over its amount. */
  z.strictObject({ ...ruleBase, kind: z.literal("budgetForecast"), budgets: budgetIds }),
  /**
   * A plan window's used % at or over `thresholdPct`: per developer, or per team (its fullest
   * member). `window: any` watches both windows, each its own alert; `limitId` narrows to one limit.
   */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("planWindow"),
    scope: z.enum(["developer", "team"]).default("developer"),
    thresholdPct: z.number().positive().max(100),
    window: planWindowChoice,
    limitId: limitIdFilter,
  }),
  /**
   * A developer's plan window forecast (limits.ts `forecastWindow`) to reach 100 % at least
   * `minMinutesBeforeReset` minutes before it resets: they will be stopped for that long.
   */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("planForecast"),
    minMinutesBeforeReset: z.int().nonnegative().default(60),
    window: planWindowChoice,
    limitId: limitIdFilter,
  }),
  /**
   * A developer stopped by a limit: a turn failed with `usageLimitExceeded` or `rateLimitExceeded`
   * (until the thread's next turn starts, at most `windowMs`), or a stored plan limit has
   * `rateLimitReachedType` set (until a report clears it).
   */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("limitReached"),
    windowMs: positiveMs.default(3_600_000),
  }),
  z.strictObject({
    ...ruleBase,
    kind: z.literal("contextWindow"),
    thresholdPct: z.number().positive().max(100),
    forMs: durationMs.default(0),
  }),
  /**
   * A thread's goal (thread/goal/updated) in one of `statuses` for `forMs`: goal continuation has
   * stopped until someone acts. Resolves when the status changes or the goal is cleared.
   */
  z.strictObject({
    ...ruleBase,
    kind: z.literal("goalStalled"),
    forMs: durationMs.default(0),
    statuses: z
      .array(z.enum(GOAL_STATUSES))
      .min(1)
      .default(() => [...STALLED_GOAL_STATUSES]),
  }),
]);

/** A parsed alert rule. */
export type AlertRule = z.infer<typeof AlertRuleSchema>;
/** The rule kinds. */
export type AlertRuleKind = AlertRule["kind"];

const httpUrl = z
  .string()
  .refine(
    (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
    "must be an http:// or https:// URL",
  );
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** Delivery settings every notifier has. */
const deliveryBase = {
  /**
   * The receiver's name: what routes name and the delivery log shows; default
   * `<type>-<hash of the url>` (the url may be a secret).
   */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "must be a non-empty name of letters, digits, '.', '_' or '-'")
    .optional(),
  /** Attempts per notification, the first included. */
  maxAttempts: z.int().min(1).max(100).default(6),
  minBackoffMs: positiveMs.default(1_000),
  maxBackoffMs: positiveMs.default(60_000),
  /** Per HTTP request (per SMTP connection step for email). */
  timeoutMs: positiveMs.default(10_000),
};

/** Delivery settings of the notifiers that POST to a URL of their own. */
const notifierBase = { ...deliveryBase, url: httpUrl };

/** An e-mail address as `user@host` (no display name: the From name is always codex-fleet). */
const emailAddress = z.email("must be an e-mail address like oncall@example.com");

/** A host name, IPv4 or bare IPv6 address (no scheme, no port). */
const hostName = z
  .string()
  .regex(
    /^([A-Za-z0-9.-]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/,
    "must be a host name or IP address (no scheme, no port)",
  );

/**
 * Where alerts are sent (the receivers; docs/receivers.md). Each `...Env` key names the
 * environment variable holding the receiver's secret, read once at start and never logged.
 */
export const NotifierSchema = z
  .discriminatedUnion("type", [
    /** `secretEnv`: the variable holding the signing secret. */
    z.strictObject({ type: z.literal("webhook"), ...notifierBase, secretEnv: envName.optional() }),
    z.strictObject({ type: z.literal("slack"), ...notifierBase }),
    /** PagerDuty Events API v2; `url` is overridable for the EU service region or tests. */
    z.strictObject({
      type: z.literal("pagerduty"),
      ...deliveryBase,
      url: httpUrl.default("https://events.pagerduty.com/v2/enqueue"),
      /** The variable holding the integration's routing key. */
      routingKeyEnv: envName,
      /** `payload.source`: where the events come from (default `codex-fleet`). */
      source: z.string().min(1).max(255).default("codex-fleet"),
    }),
    /** Opsgenie Alert API v2; `url` is the API base (https://api.eu.opsgenie.com for the EU). */
    z.strictObject({
      type: z.literal("opsgenie"),
      ...deliveryBase,
      url: httpUrl.default("https://api.opsgenie.com"),
      /** The variable holding the API integration's key (sent as `Authorization: GenieKey …`). */
      apiKeyEnv: envName,
      /** Extra tags on every alert. */
      tags: z.array(z.string().min(1).max(50)).max(10).default([]),
    }),
    /** Microsoft Teams workflow webhook ("post to a channel when a webhook request is received"). */
    z.strictObject({ type: z.literal("teams"), ...notifierBase }),
    /** E-mail over SMTP. */
    z.strictObject({
      type: z.literal("email"),
      ...deliveryBase,
      host: hostName,
      /** Default 465 with `secure`, else 587. */
      port: z.int().min(1).max(65_535).optional(),
      /** Implicit TLS from the first byte (port 465). */
      secure: z.boolean().default(false),
      /** Without `secure`: `required` refuses to send unless STARTTLS succeeds; `off` never upgrades. */
      starttls: z.enum(["required", "opportunistic", "off"]).default("required"),
      user: z.string().min(1).optional(),
      /** The variable holding the SMTP password (needs `user`). */
      passwordEnv: envName.optional(),
      from: emailAddress,
      to: z.array(emailAddress).min(1, "must list at least one recipient"),
      /** PEM file of the CA that signed the SMTP server's certificate (a private CA); relative to the config file. */
      caFile: z.string().min(1).optional(),
    }),
    /**
     * Alertmanager (POST {url}/api/v2/alerts), one alert per group member. `firingEndsAfterMs`
     * sets firing alerts' `endsAt` that far after the notification; omitted, Alertmanager applies
     * its `resolve_timeout` (see docs/receivers.md).
     */
    z.strictObject({
      type: z.literal("alertmanager"),
      ...notifierBase,
      firingEndsAfterMs: positiveMs.optional(),
    }),
  ])
  .superRefine((notifier, ctx) => {
    if (notifier.maxBackoffMs < notifier.minBackoffMs) {
      ctx.addIssue({
        code: "custom",
        path: ["maxBackoffMs"],
        message: `must be >= minBackoffMs (${notifier.minBackoffMs})`,
      });
    }
    if (notifier.type === "email" && (notifier.user === undefined) !== (notifier.passwordEnv === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [notifier.user === undefined ? "user" : "passwordEnv"],
        message: "user and passwordEnv go together (SMTP AUTH needs both)",
      });
    }
    // Like a bearer token over ws:// (DESIGN "Tokens stay private on the wire"): a password goes
    // in clear text only to a relay on this host.
    if (
      notifier.type === "email" &&
      notifier.passwordEnv !== undefined &&
      !notifier.secure &&
      notifier.starttls !== "required" &&
      !/^(localhost|127(\.\d{1,3}){3}|::1)$/i.test(notifier.host)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["starttls"],
        message: `refusing to send the SMTP password unencrypted to non-loopback host ${notifier.host}: set secure: true or starttls: required`,
      });
    }
  });

/** A parsed notifier. */
export type NotifierConfig = z.infer<typeof NotifierSchema>;

function rejectDuplicates<T>(
  items: readonly T[],
  key: (item: T) => string | undefined,
  ctx: z.RefinementCtx,
  path: (index: number) => (string | number)[],
  describe: (value: string, first: number) => string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const value = key(item);
    if (value === undefined) return;
    const first = seen.get(value);
    if (first === undefined) seen.set(value, index);
    else ctx.addIssue({ code: "custom", path: path(index), message: describe(value, first) });
  });
}

/** The `alerts` config section. */
export const AlertsConfigSchema = z
  .strictObject({
    /** `false` turns alerting off: no evaluation, no notifications, the alert API answers 404. */
    enabled: z.boolean().default(true),
    /** Default repeat interval for firing, unacknowledged alerts; 0 = never repeat. */
    repeatIntervalMs: durationMs.default(3_600_000),
    /** How often rules are evaluated (also on every fleet change, debounced). */
    evaluateIntervalMs: positiveMs.default(5_000),
    /**
     * Thread rules hold (neither fire nor resolve) until a target has been connected this long,
     * so that state remembered from before an outage is refreshed first.
     */
    settleMs: durationMs.default(15_000),
    /** Resolved alerts and finished deliveries older than this are deleted. */
    retentionMs: positiveMs.default(30 * 86_400_000),
    rules: z.array(AlertRuleSchema).default([]),
    notify: z.array(NotifierSchema).default([]),
    /**
     * Which receivers get which alert groups (config/route-schema.ts). Omitted: every receiver
     * gets every group, grouped by ruleId and team.
     */
    route: RouteSchema.optional(),
    /** Inhibit rules (Alertmanager's shape): alerts shown but not notified while a source fires. */
    inhibit: z.array(InhibitRuleSchema).default([]),
    /**
     * The built-in inhibit rule: while a target's targetUnreachable/targetUnauthorized alert fires,
     * the alerts of that target's threads are inhibited (its threads' state is unknown meanwhile).
     */
    inhibitThreadsOfDownTargets: z.boolean().default(true),
  })
  .superRefine((alerts, ctx) => {
    rejectDuplicates(
      alerts.rules,
      (rule) => rule.id,
      ctx,
      (index) => ["rules", index, "id"],
      (id, first) => `duplicate rule id "${id}" (first used by alerts.rules[${first}].id)`,
    );
    rejectDuplicates(
      alerts.notify,
      (notifier) => notifier.name,
      ctx,
      (index) => ["notify", index, "name"],
      (name, first) => `duplicate notifier name "${name}" (first used by alerts.notify[${first}].name)`,
    );
    if (alerts.route) {
      const names = alerts.notify.flatMap((n) => (n.name === undefined ? [] : [n.name]));
      for (const issue of unknownReceivers(alerts.route, names)) ctx.addIssue({ code: "custom", ...issue });
    }
  });

/** The parsed `alerts` section. */
export type AlertsConfig = z.infer<typeof AlertsConfigSchema>;
