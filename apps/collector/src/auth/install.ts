/**
 * Access control for the whole app (issue #6): security headers on every response; the Host check
 * (DNS rebinding) on every request and the Origin check on changes and the live feed, with auth on
 * or off; when auth is on, a session (cookie) or bearer token on every API route, the live feed
 * and /metrics, and the admin role for changes (policy.ts); the sign-in routes with a per-address
 * rate limit, and single sign-on (oidc-routes.ts, issue 17); cookies through @fastify/cookie
 * (cookies.ts); the parameter checks every route shares (http/param-guard.ts). Register before
 * any route (`buildApp` does).
 */

import type { DbPool } from "@codex-fleet/db/client";
import {
  type AuthMe,
  AuthMeSchema,
  type AuthMethods,
  AuthMethodsSchema,
  LoginRequestSchema,
  type LogoutResult,
  LogoutResultSchema,
  NO_PRINCIPAL,
  OIDC_LOGIN_PATH,
  type Principal,
  type Role,
  tokenPrincipal,
} from "@codex-fleet/protocol/auth";
import type { TargetTokenSource } from "@codex-fleet/protocol/targets";
import { isLoopbackHost } from "@codex-fleet/protocol/targets";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { AuthConfig } from "../config/schema.ts";
import { parseBody } from "../http/body.ts";
import { ApiError } from "../http/errors.ts";
import { isWrite } from "../http/methods.ts";
import { describeRoute, noContent } from "../http/openapi.ts";
import { checkCommonParams } from "../http/param-guard.ts";
import { noQuery } from "../http/params.ts";
import { ApiKeyAuth } from "../keys/api-keys.ts";
import type { Logger } from "../logger.ts";
import { cookieSigningKey, installCookies, SESSION_COOKIE, sessionCookieOptions } from "./cookies.ts";
import { Credentials } from "./credentials.ts";
import { OidcClient } from "./oidc.ts";
import { installOidcRoutes } from "./oidc-routes.ts";
import { type HostPolicy, hostAllowed, type OriginPolicy, originAllowed } from "./origin.ts";
import { requiredAccess } from "./policy.ts";
import { RateLimiter } from "./rate-limit.ts";
import { inlineScriptHashes, installSecurityHeaders } from "./security-headers.ts";
import { type Session, SessionStore } from "./sessions.ts";

/** Who made a request. */
export interface RequestAuth {
  role: Role;
  via: "session" | "bearer" | "none";
  expiresAtMs: number | null;
  /** Who it is (acknowledgements, the audit log). */
  principal: Principal;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set by the auth hook for requests that needed a role; `via: "none"` when auth is off. */
    fleetAuth: RequestAuth | null;
  }
}

/** What `buildApp` needs to install access control. */
export interface AuthSetup {
  config: AuthConfig;
  /** `server.publicUrl`: its origin is allowed, and https turns on HSTS. */
  publicUrl: string | null;
  /** `server.host`: a name there is an allowed Host; the warning when auth is off on a non-loopback address. */
  host?: string;
  /** `server.allowedHosts`: more names the Host header may carry (DNS rebinding protection). */
  allowedHosts?: readonly string[];
  /** Where targets added through the API may take a token from (`server.targetSecrets`), for admins. */
  targetTokenSources?: readonly TargetTokenSource[];
  now?: () => number;
}

/** Access control off: the default for `buildApp` callers that pass none (tests, the demo). */
export const AUTH_OFF: AuthSetup = {
  config: {
    mode: "off",
    enabled: false,
    adminToken: null,
    viewerToken: null,
    sessionTtlMs: 12 * 3_600_000,
    secureCookies: false,
    allowedOrigins: [],
    loginRateLimit: { max: 10, windowMs: 300_000 },
    oidc: null,
    secretKey: null,
  },
  publicUrl: null,
};

const unauthorized = (message: string) => new ApiError(401, "UNAUTHORIZED", message);
const SIGN_IN =
  "sign in first: POST /api/v1/auth/login with the admin or viewer token, or send Authorization: Bearer <token>";

/** Who a session belongs to: the person of a single sign-on, else its static token's role. */
const principalOf = (session: Session): Principal =>
  session.person === null
    ? tokenPrincipal(session.role)
    : { kind: "oidc", name: session.person.name, email: session.person.email };

/**
 * Install the cookie plugin, the headers hook, the auth hook, /api/v1/auth/{login,logout,me,methods}
 * and the single sign-on routes (oidc-routes.ts). Await it before registering routes.
 */
export async function installAuth(
  app: FastifyInstance,
  setup: AuthSetup,
  deps: { log: Logger; dashboardHtml: string | null; pool: DbPool },
): Promise<void> {
  const { config } = setup;
  const now = setup.now ?? Date.now;
  const log = deps.log.child({ module: "auth" });
  const https = setup.publicUrl?.startsWith("https:") ?? false;
  const credentials = new Credentials({ admin: config.adminToken, viewer: config.viewerToken });
  // Sessions live in Postgres (sessions.ts): every collector on the database shares them.
  const sessions = new SessionStore({ pool: deps.pool, ttlMs: config.sessionTtlMs, now });
  // API keys (issue 17): Bearer secrets checked after the static tokens, found by their hash.
  const apiKeys = new ApiKeyAuth({ pool: deps.pool, now, log });
  const limiter = new RateLimiter({ ...config.loginRateLimit, now });
  const origins: OriginPolicy = {
    publicOrigin: setup.publicUrl === null ? null : new URL(setup.publicUrl).origin,
    allowed: config.allowedOrigins,
  };
  const hosts: HostPolicy = {
    names: [
      ...(setup.host === undefined ? [] : [setup.host.toLowerCase()]),
      ...(setup.publicUrl === null ? [] : [new URL(setup.publicUrl).hostname.toLowerCase()]),
      ...(setup.allowedHosts ?? []),
    ],
  };
  if (!config.enabled && setup.host !== undefined && !isLoopbackHost(setup.host))
    log.warn(
      { host: setup.host },
      "authentication is OFF on a non-loopback address: anyone who reaches it can read and change the fleet",
    );

  const oidc = config.oidc === null ? null : new OidcClient(config.oidc, { now });

  // First: their onRequest hooks set the headers and parse cookies before the auth hook below.
  await installSecurityHeaders(app, {
    scriptHashes: deps.dashboardHtml === null ? [] : inlineScriptHashes(deps.dashboardHtml),
    https,
  });
  await installCookies(app, { signingKey: cookieSigningKey(config.oidc?.clientSecret ?? null) });
  app.decorateRequest("fleetAuth", null);

  const limit = (req: FastifyRequest, reply: FastifyReply): void => {
    const result = limiter.hit(req.ip);
    if (result.ok) return;
    void reply.header("retry-after", String(Math.ceil(result.retryAfterMs / 1000)));
    throw new ApiError(429, "RATE_LIMITED", "too many sign-in attempts from this address: try again later");
  };

  /** The caller's identity from a bearer token or the session cookie; throws on a bad bearer. */
  const identify = async (req: FastifyRequest, reply: FastifyReply): Promise<RequestAuth | null> => {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer +(\S+) *$/i.exec(authorization);
      if (!match?.[1]) throw unauthorized("Authorization must be `Bearer <token>`");
      const role = credentials.roleOf(match[1]);
      if (role === null) {
        const key = await apiKeys.identify(match[1]);
        if (key !== null) return { ...key, via: "bearer", expiresAtMs: null };
        limit(req, reply);
        log.warn({ ip: req.ip }, "bearer token not accepted");
        throw unauthorized("the bearer token was not accepted");
      }
      return { role, via: "bearer", expiresAtMs: null, principal: tokenPrincipal(role) };
    }
    const id = req.cookies[SESSION_COOKIE];
    const session = id ? await sessions.get(id) : null;
    return session
      ? {
          role: session.role,
          via: "session",
          expiresAtMs: session.expiresAtMs,
          principal: principalOf(session),
        }
      : null;
  };

  const checkOrigin = (req: FastifyRequest, required: boolean): void => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      if (required) throw new ApiError(403, "BAD_ORIGIN", "this request needs an Origin header");
      return;
    }
    if (!originAllowed(origin, req.headers.host, origins))
      throw new ApiError(403, "BAD_ORIGIN", `requests from origin ${origin} are not allowed`);
  };

  app.addHook("onRequest", async (req, reply) => {
    if (req.url.startsWith("/api/")) void reply.header("cache-control", "no-store");
    // DNS rebinding: a page on attacker.example whose name now points at this collector sends
    // `Host: attacker.example`. Refused on every route, with auth on or off.
    if (!hostAllowed(req.headers.host, hosts))
      throw new ApiError(
        421,
        "BAD_HOST",
        `this collector does not answer to host ${req.headers.host}: add it to server.allowedHosts`,
      );
    // Decide on the matched route pattern, not the raw URL: the router decodes the path
    // (`/%61pi/v1/targets` reaches /api/v1/targets), so a string test of req.url could be fooled.
    const pattern = req.routeOptions.url;
    const route = pattern !== undefined && pattern !== "/*" ? pattern : decodedPath(req.url);
    if (!config.enabled) {
      // No credentials to protect the changes and the feed: a browser page on another site must
      // not drive them (CSRF, cross-site WebSocket hijacking). Non-browser clients send no Origin.
      if (isWrite(req.method) || route === "/api/v1/live") checkOrigin(req, false);
      req.fleetAuth = { role: "admin", via: "none", expiresAtMs: null, principal: NO_PRINCIPAL };
      return;
    }
    const access = requiredAccess(req.method, route);
    if (access === "open") return;
    const auth = await identify(req, reply);
    if (auth === null) {
      void reply.header("www-authenticate", 'Bearer realm="codex-fleet"');
      throw unauthorized(SIGN_IN);
    }
    if (access === "admin" && auth.role !== "admin")
      throw new ApiError(403, "FORBIDDEN", `the admin role is needed for ${req.method} ${route}`);
    // Browsers always send Origin on state-changing requests and WebSocket handshakes; a cookie
    // request without one is not a browser we know. Bearer clients (curl) cannot be forged
    // cross-site, but a foreign Origin is refused for them too.
    if (isWrite(req.method) || route === "/api/v1/live") checkOrigin(req, auth.via === "session");
    req.fleetAuth = auth;
  });

  // After the auth check (an anonymous caller learns nothing about parameters), before handlers.
  app.addHook("preValidation", async (req) => checkCommonParams(req));

  const oidcOffered = config.enabled && oidc !== null;
  const me = (auth: RequestAuth): AuthMe => ({
    role: auth.role,
    authEnabled: config.enabled,
    expiresAt: auth.expiresAtMs === null ? null : new Date(auth.expiresAtMs).toISOString(),
    principal: auth.principal,
    oidc: oidcOffered,
    ...(auth.role === "admin" ? { targetTokenSources: [...(setup.targetTokenSources ?? ["token"])] } : {}),
  });

  const loginSchema = describeRoute({
    tags: ["auth"],
    summary: "Sign in with a token; sets the session cookie (rate-limited)",
    open: true,
    query: noQuery,
    body: LoginRequestSchema,
    response: { 200: AuthMeSchema },
    errors: [429],
  });
  app.post("/api/v1/auth/login", loginSchema, async (req, reply) => {
    if (!config.enabled)
      throw new ApiError(409, "AUTH_DISABLED", "authentication is off on this collector: no sign-in needed");
    checkOrigin(req, false);
    limit(req, reply);
    const { token } = parseBody(LoginRequestSchema, req.body);
    const role = credentials.roleOf(token);
    if (role === null) {
      log.warn({ ip: req.ip }, "sign-in refused: token not accepted");
      throw unauthorized("the token was not accepted");
    }
    const { id, session } = await sessions.create(role);
    log.info({ ip: req.ip, role }, "signed in");
    await req.audit({ action: "auth.login", subject: `${role} token`, principal: tokenPrincipal(role) });
    void reply.setCookie(
      SESSION_COOKIE,
      id,
      sessionCookieOptions({ maxAgeMs: config.sessionTtlMs, secure: config.secureCookies }),
    );
    return me({ role, via: "session", expiresAtMs: session.expiresAtMs, principal: tokenPrincipal(role) });
  });

  const logoutSchema = describeRoute({
    tags: ["auth"],
    summary: "Sign out; a single sign-on user may be sent on to the provider's sign-out",
    open: true,
    query: noQuery,
    response: { 200: LogoutResultSchema, 204: noContent },
  });
  app.post("/api/v1/auth/logout", logoutSchema, async (req, reply) => {
    // A foreign page must not sign the user out either (SameSite keeps the cookie off, but the
    // answer still clears it).
    checkOrigin(req, false);
    const id = req.cookies[SESSION_COOKIE];
    const session = id ? await sessions.get(id) : null;
    if (id) await sessions.delete(id);
    if (session) {
      const principal = principalOf(session);
      await req.audit({ action: "auth.logout", subject: principal.name, principal });
    }
    void reply.setCookie(
      SESSION_COOKIE,
      "",
      sessionCookieOptions({ maxAgeMs: 0, secure: config.secureCookies }),
    );
    // A person who signed in through the provider may be signed out there too (auth.oidc.providerLogout).
    if (session?.person && oidc?.config.providerLogout && setup.publicUrl !== null) {
      const redirectTo = await oidc.endSessionUrl(setup.publicUrl);
      if (redirectTo !== null) return { redirectTo } satisfies LogoutResult;
    }
    return reply.status(204).send();
  });

  const methodsSchema = describeRoute({
    tags: ["auth"],
    summary: "How one may sign in here",
    open: true,
    query: noQuery,
    response: { 200: AuthMethodsSchema },
  });
  app.get("/api/v1/auth/methods", methodsSchema, async (): Promise<AuthMethods> => {
    return {
      authEnabled: config.enabled,
      oidc: oidcOffered && oidc ? { label: oidc.config.displayName, loginUrl: OIDC_LOGIN_PATH } : null,
    };
  });

  installOidcRoutes(app, { config, oidc, sessions, log, now });

  const meSchema = describeRoute({
    tags: ["auth"],
    summary: "Who is signed in, with which role; 401 when nobody is",
    open: true,
    query: noQuery,
    response: { 200: AuthMeSchema },
  });
  app.get("/api/v1/auth/me", meSchema, async (req, reply) => {
    if (!config.enabled)
      return me({ role: "admin", via: "none", expiresAtMs: null, principal: NO_PRINCIPAL });
    const auth = await identify(req, reply);
    if (auth === null) throw unauthorized(SIGN_IN);
    return me(auth);
  });
}

function decodedPath(url: string): string {
  const path = url.split("?")[0] ?? "";
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
