/**
 * Access control shapes (issue #6): sign-in, the current session's role, and the admin view of a
 * target. Declared once for the collector (which produces them) and the dashboard. Browser-safe.
 */
import { z } from "zod";
import { TargetViewSchema } from "./api.ts";

/** `viewer` reads everything and acknowledges alerts; `admin` also manages targets and silences. */
export const RoleSchema = z.enum(["viewer", "admin"]);
export type Role = z.infer<typeof RoleSchema>;

/** POST /api/v1/auth/login body: the admin or viewer token (surrounding whitespace ignored). */
export const LoginRequestSchema = z.strictObject({
  token: z
    .string({ error: "must be a string" })
    .trim()
    .min(1, "must not be empty")
    .max(4096, "must be at most 4096 characters"),
});
export type LoginRequest = z.input<typeof LoginRequestSchema>;

/**
 * GET /api/v1/auth/me and the login answer. With authentication off (a loopback collector)
 * everyone is `admin` and `authEnabled` is false.
 */
export const AuthMeSchema = z.object({
  role: RoleSchema,
  authEnabled: z.boolean(),
  /** When the session ends (ISO 8601); null for bearer tokens and when authentication is off. */
  expiresAt: z.string().nullable(),
});
export type AuthMe = z.infer<typeof AuthMeSchema>;

/**
 * GET/POST/PUT /api/v1/targets/:name answers: the public view plus where the target comes from.
 * `managed` targets were added through the API and may be changed there; the others come from
 * the config file and are read-only. The token itself is never part of any answer.
 */
export const TargetAdminViewSchema = TargetViewSchema.extend({
  managed: z.boolean(),
  hasToken: z.boolean(),
  allowInsecure: z.boolean(),
});
export type TargetAdminView = z.infer<typeof TargetAdminViewSchema>;
