/**
 * What makes a target valid, declared once for the config file (apps/collector config/schema.ts)
 * and the target admin API (its request bodies and answers): the name pattern, the URL rule and
 * DESIGN.md rule 7 on tokens. Browser-safe. Type errors ("must be a string") are worded by
 * whoever parses (the config loader, the API's body parser), so the schemas carry only the rules.
 */
import { z } from "zod";
import { TargetViewSchema } from "./api.ts";
import { TargetReasonSchema } from "./status.ts";

/** True for hosts that never leave the machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
  );
}

/**
 * A target's name: its id in the database, in URLs (`/api/v1/targets/:name`), alerts and logs.
 * One rule for the config file and the API, so every configured target can be addressed.
 */
export const TARGET_NAME_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
export const TARGET_NAME_MESSAGE = "must be 1-100 letters, digits, '.', '_' or '-'";
export const TargetNameSchema = z.string().regex(TARGET_NAME_PATTERN, TARGET_NAME_MESSAGE);

/**
 * A target's app-server URL: ws:// or wss://, without user or password. `credentialsHint` says
 * where the token goes instead (the config file and the API take it differently).
 */
export function targetUrlSchema(credentialsHint: string) {
  return z
    .string()
    .max(2000, "must be at most 2000 characters")
    .refine(
      (s) => URL.canParse(s) && ["ws:", "wss:"].includes(new URL(s).protocol),
      "must be a ws:// or wss:// URL",
    )
    .refine((s) => {
      const url = URL.canParse(s) ? new URL(s) : null;
      return url === null || (url.username === "" && url.password === "");
    }, `must not contain credentials: ${credentialsHint}`);
}

/**
 * DESIGN.md rule 7, the same rule as codex's own remote client: a bearer token travels only over
 * wss:// or to a loopback host, unless the target says `allowInsecure`. Null when allowed, else
 * what is wrong (a problem with the `url` field).
 */
export function insecureTokenProblem(target: {
  url: string;
  hasToken: boolean;
  allowInsecure: boolean;
}): string | null {
  if (!target.hasToken || target.allowInsecure || !URL.canParse(target.url)) return null;
  const url = new URL(target.url);
  if (url.protocol !== "ws:" || isLoopbackHost(url.hostname)) return null;
  return `refusing to send a bearer token over plain ws:// to non-loopback host ${url.hostname}: use wss:// or set allowInsecure: true`;
}

/** A target's definition in the admin API (everything but its name). */
const TargetDefinition = {
  team: z.string().trim().max(200, "must be at most 200 characters").default(""),
  url: targetUrlSchema("send the token in `token`"),
  labels: z
    .record(
      z.string().min(1, "keys must not be empty").max(100, "keys must be at most 100 characters"),
      z.string().max(200, "values must be at most 200 characters"),
    )
    .refine((labels) => Object.keys(labels).length <= 50, "at most 50 labels")
    .default({}),
  allowInsecure: z.boolean().default(false),
  /**
   * The token source: at most one of `token`, `tokenFile`, `tokenEnv`. All omitted (PUT): keep
   * the stored source; null: no token. `token` is stored encrypted and never answered.
   */
  token: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(4096, "must be at most 4096 characters")
    .regex(/^\S+$/, "must not contain whitespace")
    .nullable()
    .optional(),
  /**
   * A file on the collector's host holding the token, read by the collector: only inside
   * `server.targetSecrets.dir` (the collector checks it; refused when that is not set).
   */
  tokenFile: z
    .string()
    .min(1, "must not be empty")
    .max(1000, "must be at most 1000 characters")
    .nullable()
    .optional(),
  /**
   * An environment variable of the collector holding the token: only names starting with
   * `server.targetSecrets.envPrefix` (refused when that is not set).
   */
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .max(200, "must be at most 200 characters")
    .nullable()
    .optional(),
};

/** At most one token source in a body: a 400 naming the second one. */
function oneTokenSource(
  body: { token?: string | null; tokenFile?: string | null; tokenEnv?: string | null },
  ctx: z.RefinementCtx,
): void {
  const given = TARGET_TOKEN_KEYS.filter((k) => typeof body[k] === "string");
  if (given.length > 1)
    ctx.addIssue({
      code: "custom",
      path: [given[1] as string],
      message: `set at most one of ${TARGET_TOKEN_KEYS.join(", ")}`,
    });
}

/** The body keys that carry a token source. */
export const TARGET_TOKEN_KEYS = ["token", "tokenFile", "tokenEnv"] as const;

/** Where a target added through the API may take its token from (GET /api/v1/auth/me, admins). */
export const TARGET_TOKEN_SOURCES = ["token", "file", "env"] as const;
export type TargetTokenSource = (typeof TARGET_TOKEN_SOURCES)[number];

/** PUT /api/v1/targets/:name body. */
export const TargetUpdateRequestSchema = z.strictObject(TargetDefinition).superRefine(oneTokenSource);
export type TargetUpdateRequest = z.input<typeof TargetUpdateRequestSchema>;

/** POST /api/v1/targets body. */
export const TargetCreateRequestSchema = z
  .strictObject({ name: TargetNameSchema, ...TargetDefinition })
  .superRefine(oneTokenSource);
export type TargetCreateRequest = z.input<typeof TargetCreateRequestSchema>;

/**
 * GET/POST/PUT /api/v1/targets/:name answers: the public view plus where the target comes from.
 * `managed` targets were added through the API and may be changed there; the others come from
 * the config file and are read-only. The token itself is never part of any answer.
 */
export const TargetAdminViewSchema = TargetViewSchema.extend({
  managed: z.boolean(),
  hasToken: z.boolean(),
  allowInsecure: z.boolean(),
  /** Paused through the API (POST …/pause): kept, followed by no collector until resumed. */
  paused: z.boolean().optional(),
  /** A managed target's token file or variable name (never the token); null otherwise. */
  tokenFile: z.string().nullable().optional(),
  tokenEnv: z.string().nullable().optional(),
});
export type TargetAdminView = z.infer<typeof TargetAdminViewSchema>;

/**
 * POST /api/v1/targets/test body: a definition as for a create (the name optional). With the
 * name of a target added through the API and no `token`, its stored token is used, as a PUT
 * keeps it.
 */
export const TargetTestRequestSchema = z
  .strictObject({
    name: TargetNameSchema.optional(),
    ...TargetDefinition,
  })
  .superRefine(oneTokenSource);
export type TargetTestRequest = z.input<typeof TargetTestRequestSchema>;

/**
 * POST /api/v1/targets/test answer: whether the collector could connect and initialize (then it
 * closed the connection). `reason` is the target reason a failed connection would show and
 * `error` its human text; neither ever carries the token or the peer's answer body.
 */
export const TargetTestResultSchema = z.object({
  ok: z.boolean(),
  /** The app-server's codex version (from its userAgent), when it answered initialize. */
  codexVersion: z.string().nullable(),
  userAgent: z.string().nullable(),
  reason: TargetReasonSchema.nullable(),
  error: z.string().nullable(),
  elapsedMs: z.number(),
});
export type TargetTestResult = z.infer<typeof TargetTestResultSchema>;
