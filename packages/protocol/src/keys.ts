/**
 * API keys and the audit log (issue 17): request and answer shapes, declared once for the
 * collector and the dashboard. Browser-safe. No answer ever carries a key's hash, and the secret
 * only the answer to its creation.
 */
import { z } from "zod";
import { timeToMs } from "./api.ts";
import { PrincipalSchema, RoleSchema } from "./auth.ts";

/** What every key's secret starts with: recognisable in a leaked log or a secret scanner. */
export const API_KEY_PREFIX = "cfk_";
/** A key's name: letters, digits, spaces and `._-`, 1-100 characters. */
export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/;

/** POST /api/v1/keys body. */
export const ApiKeyCreateRequestSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .regex(
      API_KEY_NAME_PATTERN,
      "must be 1-100 letters, digits, spaces, '.', '_' or '-' (starting with a letter or digit)",
    ),
  role: RoleSchema,
  /** ISO 8601 time or epoch milliseconds; omitted or null: the key does not expire. */
  expiresAt: z
    .union([z.string(), z.number()])
    .transform(timeToMs)
    .refine(Number.isFinite, "must be an ISO 8601 time or epoch milliseconds")
    .nullable()
    .optional(),
});
export type ApiKeyCreateRequest = z.input<typeof ApiKeyCreateRequestSchema>;

/** A key's state at the time of the answer. */
export const ApiKeyStatusSchema = z.enum(["active", "expired", "revoked"]);
export type ApiKeyStatus = z.infer<typeof ApiKeyStatusSchema>;

/** GET /api/v1/keys rows (and DELETE's answer). Times are ISO 8601. */
export const ApiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: RoleSchema,
  /** The secret's first characters, to tell keys apart ("cfk_Ab12Cd"). */
  prefix: z.string(),
  status: ApiKeyStatusSchema,
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** Updated at most once a minute. */
  lastUsedAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

/** POST /api/v1/keys answer (201): the view and the secret, shown this once. */
export const ApiKeyCreatedSchema = ApiKeyViewSchema.extend({ secret: z.string() });
export type ApiKeyCreated = z.infer<typeof ApiKeyCreatedSchema>;

/** What an audit event records; a string so that newer collectors may add actions. */
export const AUDIT_ACTIONS = [
  "target.create",
  "target.update",
  "target.delete",
  "target.pause",
  "target.resume",
  "silence.create",
  "silence.expire",
  "alert.ack",
  "key.create",
  "key.revoke",
  "price.override.create",
  "price.override.delete",
  "config.change",
  "auth.login",
  "auth.logout",
] as const;

/** GET /api/v1/audit rows. */
export const AuditEventViewSchema = z.object({
  id: z.string(),
  at: z.string(),
  principal: PrincipalSchema,
  ip: z.string().nullable(),
  action: z.string(),
  subject: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEventView = z.infer<typeof AuditEventViewSchema>;
