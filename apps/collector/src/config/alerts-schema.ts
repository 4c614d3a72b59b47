/**
 * Placeholder schema for the `alerts` config section, following DESIGN.md's example. The alerts
 * module owns this file and will refine it; config/schema.ts only embeds `AlertsConfigSchema`.
 * Objects are strict (unknown keys are config errors, like everywhere else in the config).
 */
import { z } from "zod";

const durationMs = z.int().nonnegative();
const severity = z.enum(["info", "warning", "critical"]);

/** Fields every rule has. */
const ruleBase = {
  id: z.string().regex(/^[A-Za-z0-9._-]+$/, "must be a non-empty id of letters, digits, '.', '_' or '-'"),
  severity: severity.default("warning"),
};

/** Rules that fire after a condition has held for `forMs`. */
const durationRule = <K extends string>(kind: K) =>
  z.strictObject({ ...ruleBase, kind: z.literal(kind), forMs: durationMs.default(0) });

/** One alert rule; `kind` selects the condition. */
export const AlertRuleSchema = z.discriminatedUnion("kind", [
  durationRule("waitingOnApproval"),
  durationRule("waitingOnUserInput"),
  durationRule("noProgress"),
  durationRule("turnFailed"),
  durationRule("systemError"),
  durationRule("targetUnreachable"),
  durationRule("targetUnauthorized"),
  z.strictObject({
    ...ruleBase,
    kind: z.literal("dailySpend"),
    scope: z.enum(["developer", "team", "fleet"]),
    thresholdUsd: z.number().positive(),
  }),
  z.strictObject({
    ...ruleBase,
    kind: z.literal("contextWindow"),
    thresholdPct: z.number().positive().max(100),
    forMs: durationMs.default(0),
  }),
]);

/** A parsed alert rule. */
export type AlertRule = z.infer<typeof AlertRuleSchema>;

const httpUrl = z
  .string()
  .refine(
    (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
    "must be an http:// or https:// URL",
  );
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** Where alerts are sent. `secretEnv` names the variable holding the webhook's signing secret. */
export const NotifierSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("webhook"), url: httpUrl, secretEnv: envName.optional() }),
  z.strictObject({ type: z.literal("slack"), url: httpUrl }),
]);

/** A parsed notifier. */
export type NotifierConfig = z.infer<typeof NotifierSchema>;

/** The `alerts` config section. */
export const AlertsConfigSchema = z
  .strictObject({
    repeatIntervalMs: z.int().positive().default(3_600_000),
    rules: z.array(AlertRuleSchema).default([]),
    notify: z.array(NotifierSchema).default([]),
  })
  .superRefine((alerts, ctx) => {
    const seen = new Map<string, number>();
    alerts.rules.forEach((rule, index) => {
      const first = seen.get(rule.id);
      if (first === undefined) seen.set(rule.id, index);
      else
        ctx.addIssue({
          code: "custom",
          path: ["rules", index, "id"],
          message: `duplicate rule id "${rule.id}" (first used by alerts.rules[${first}].id)`,
        });
    });
  });

/** The parsed `alerts` section. */
export type AlertsConfig = z.infer<typeof AlertsConfigSchema>;
