/**
 * Access control shapes (issue #6): sign-in and the current session's role. Declared once for the
 * collector (which produces them) and the dashboard. Browser-safe.
 */
import { z } from "zod";

/** `viewer` reads everything and acknowledges alerts; `admin` also manages targets and silences. */
export const RoleSchema = z.enum(["viewer", "admin"]);
export type Role = z.infer<typeof RoleSchema>;

/** POST /api/v1/auth/login body: the admin or viewer token (surrounding whitespace ignored). */
export const LoginRequestSchema = z.strictObject({
  token: z.string().trim().min(1, "must not be empty").max(4096, "must be at most 4096 characters"),
});
export type LoginRequest = z.input<typeof LoginRequestSchema>;

/**
 * Who made a request (issue 17), recorded by acknowledgements and the audit log. `token`: one of
 * the static admin/viewer tokens (bootstrap, break-glass), named after its role; `apiKey`: a named
 * API key; `oidc`: a person signed in through the identity provider; `none`: authentication off.
 */
export const PrincipalSchema = z.object({
  kind: z.enum(["token", "apiKey", "oidc", "none"]),
  /** A display name: "admin token", the key's name, the person's name (or subject). */
  name: z.string(),
  email: z.string().nullable(),
});
export type Principal = z.infer<typeof PrincipalSchema>;

/** The principal of a static token of `role`. */
export const tokenPrincipal = (role: Role): Principal => ({ kind: "token", name: `${role} token`, email: null });

/** Nobody is signed in: authentication is off. */
export const NO_PRINCIPAL: Principal = { kind: "none", name: "", email: null };

/**
 * GET /api/v1/auth/me and the login answer. With authentication off (a loopback collector)
 * everyone is `admin` and `authEnabled` is false.
 */
export const AuthMeSchema = z.object({
  role: RoleSchema,
  authEnabled: z.boolean(),
  /** When the session ends (ISO 8601); null for bearer tokens and when authentication is off. */
  expiresAt: z.string().nullable(),
  /** Who is signed in (absent from collectors older than issue 17). */
  principal: PrincipalSchema.optional(),
});
export type AuthMe = z.infer<typeof AuthMeSchema>;
