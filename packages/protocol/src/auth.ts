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
export const tokenPrincipal = (role: Role): Principal => ({
  kind: "token",
  name: `${role} token`,
  email: null,
});

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
  /** Whether this collector offers single sign-on (OIDC) besides the tokens (issue 17). */
  oidc: z.boolean().optional(),
  /**
   * Admins only: where a target added through the API may take its token from (`token` always;
   * `file`, `env` when the collector's server.targetSecrets allows them).
   */
  targetTokenSources: z.array(z.enum(["token", "file", "env"])).optional(),
});
export type AuthMe = z.infer<typeof AuthMeSchema>;

/**
 * GET /api/v1/auth/methods (open, for the sign-in page): how one may sign in. `oidc` is null
 * when single sign-on is not configured (or authentication is off); its `label` names the
 * identity provider on the "Sign in with …" button, which navigates to `loginUrl`.
 */
export const AuthMethodsSchema = z.object({
  authEnabled: z.boolean(),
  oidc: z.object({ label: z.string(), loginUrl: z.string() }).nullable(),
});
export type AuthMethods = z.infer<typeof AuthMethodsSchema>;

/**
 * POST /api/v1/auth/logout's answer when the identity provider's own sign-out should follow
 * (an OIDC session, `auth.oidc.providerLogout` on, the provider has an end_session_endpoint):
 * the browser navigates to `redirectTo`. Otherwise logout answers 204 with no body.
 */
export const LogoutResultSchema = z.object({ redirectTo: z.string() });
export type LogoutResult = z.infer<typeof LogoutResultSchema>;

/** Single sign-on starts here: a browser navigation, answered with a redirect to the provider. */
export const OIDC_LOGIN_PATH = "/api/v1/auth/oidc/login";

/** Where the identity provider sends the browser back (server.publicUrl + this: the redirect URI). */
export const OIDC_CALLBACK_PATH = "/api/v1/auth/oidc/callback";
