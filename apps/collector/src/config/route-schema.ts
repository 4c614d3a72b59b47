/**
 * `alerts.route` and `alerts.inhibit` (issue 16), in Alertmanager's shape. The route tree sends each
 * alert group to named receivers (`alerts.notify[].name`); inhibit rules mute alerts while a
 * matching source alert fires. Matchers name alert labels (alerts/labels.ts): a string matches
 * exactly, `{ re: "..." }` matches the whole value against a regular expression (anchored, as in
 * Alertmanager). An alert without the label matches `""` and `{ re: "" }` only.
 */
import { z } from "zod";
import { ALERT_LABEL_NAMES, type AlertLabelName } from "../alerts/labels.ts";

const durationMs = z.int().nonnegative();
const positiveMs = z.int().positive();

const labelName = z.enum(ALERT_LABEL_NAMES);

/** One label matcher: an exact value, or `{ re }` (anchored regular expression). */
const MatcherSchema = z.union([
  z.string(),
  z.strictObject({
    re: z.string().refine((s) => {
      try {
        new RegExp(`^(?:${s})$`);
        return true;
      } catch {
        return false;
      }
    }, "must be a valid regular expression"),
  }),
]);

/** `{ label: matcher }`: every given label must match. Keys are alert label names. */
export const MatchersSchema = z
  .record(z.string(), MatcherSchema)
  .superRefine((m, ctx) => {
    for (const key of Object.keys(m))
      if (!(ALERT_LABEL_NAMES as readonly string[]).includes(key))
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `unknown alert label "${key}" (labels: ${ALERT_LABEL_NAMES.join(", ")})`,
        });
  })
  .transform((m) => m as Partial<Record<AlertLabelName, z.infer<typeof MatcherSchema>>>);
export type Matchers = z.infer<typeof MatchersSchema>;

const receiverName = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, "must be a receiver name (an alerts.notify[].name)");

const groupBy = z
  .array(labelName)
  .refine((names) => new Set(names).size === names.length, "must not repeat a label");

/** A child route: alerts matching `matchers` go to its receiver (inherited when omitted). */
export interface ChildRouteConfig {
  matchers: Matchers;
  receiver?: string | undefined;
  groupBy?: (typeof ALERT_LABEL_NAMES)[number][] | undefined;
  groupWaitMs?: number | undefined;
  groupIntervalMs?: number | undefined;
  repeatIntervalMs?: number | undefined;
  /** After a match, go on trying the following siblings (Alertmanager's `continue`). */
  continue: boolean;
  routes: ChildRouteConfig[];
}

export const ChildRouteSchema: z.ZodType<ChildRouteConfig, unknown> = z.lazy(() =>
  z.strictObject({
    matchers: MatchersSchema.default({}),
    receiver: receiverName.optional(),
    groupBy: groupBy.optional(),
    groupWaitMs: durationMs.optional(),
    groupIntervalMs: positiveMs.optional(),
    repeatIntervalMs: durationMs.optional(),
    continue: z.boolean().default(false),
    routes: z.array(ChildRouteSchema).default([]),
  }),
);

/** The root route: matches every alert; its settings are the defaults of the whole tree. */
export const RouteSchema = z.strictObject({
  receiver: receiverName,
  /** Labels that make a group: alerts sharing their values go out in one message. */
  groupBy: groupBy.default(["ruleId", "team"]),
  /** A new group waits this long for more alerts before its first message. */
  groupWaitMs: durationMs.default(30_000),
  /** Later changes to a group (new or resolved members) go out at most this often. */
  groupIntervalMs: positiveMs.default(300_000),
  /** An unchanged group still firing is sent again after this long; default `alerts.repeatIntervalMs`; 0 = never. */
  repeatIntervalMs: durationMs.optional(),
  routes: z.array(ChildRouteSchema).default([]),
});
export type RouteConfig = z.infer<typeof RouteSchema>;

/** While an alert matching `sourceMatchers` fires, alerts matching `targetMatchers` with equal `equal` labels are muted. */
export const InhibitRuleSchema = z.strictObject({
  sourceMatchers: MatchersSchema,
  targetMatchers: MatchersSchema,
  equal: z.array(labelName).default([]),
});
export type InhibitRuleConfig = z.infer<typeof InhibitRuleSchema>;

/**
 * Config errors for routes naming receivers that `alerts.notify` does not define, each with the
 * route's path (e.g. `route.routes[1].receiver`).
 */
export function unknownReceivers(
  route: RouteConfig,
  receivers: readonly string[],
): { path: (string | number)[]; message: string }[] {
  const known = new Set(receivers);
  const out: { path: (string | number)[]; message: string }[] = [];
  const describe = (name: string) =>
    `unknown receiver "${name}" (alerts.notify names: ${receivers.length > 0 ? receivers.join(", ") : "none"})`;
  if (!known.has(route.receiver))
    out.push({ path: ["route", "receiver"], message: describe(route.receiver) });
  const walk = (routes: readonly ChildRouteConfig[], path: (string | number)[]) => {
    routes.forEach((r, i) => {
      const here = [...path, "routes", i];
      if (r.receiver !== undefined && !known.has(r.receiver))
        out.push({ path: [...here, "receiver"], message: describe(r.receiver) });
      walk(r.routes, here);
    });
  };
  walk(route.routes, ["route"]);
  return out;
}
