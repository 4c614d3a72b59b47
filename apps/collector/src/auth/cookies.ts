/**
 * The collector's cookies, parsed and written by @fastify/cookie (issue 17); this module fixes
 * their names and attributes, so every place that sets one sets the same thing.
 */
import { createHmac, randomBytes } from "node:crypto";
import { OIDC_CALLBACK_PATH } from "@codex-fleet/protocol/auth";
import fastifyCookie, { type CookieSerializeOptions } from "@fastify/cookie";
import type { FastifyInstance } from "fastify";
import type { Secret } from "../config/secret.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "fleet_session";

/** Name of the cookie that carries a single sign-on in progress (oidc.ts) to the callback. */
export const OIDC_FLOW_COOKIE = "fleet_oidc";

/**
 * Register @fastify/cookie: `req.cookies` on every request (parsed in its onRequest hook, which
 * runs before the auth hook because this is awaited first), `reply.setCookie`, and signed cookies
 * keyed by `signingKey`. Await before adding hooks that read cookies.
 */
export async function installCookies(app: FastifyInstance, opts: { signingKey: string }): Promise<void> {
  await app.register(fastifyCookie, { secret: opts.signingKey, hook: "onRequest" });
}

/**
 * The key that signs the flow cookie. Derived from the OIDC client secret, so that every
 * collector of a cluster (same config) accepts a callback for a sign-in another one began; a
 * random key when there is no single sign-on (nothing is signed then).
 */
export function cookieSigningKey(oidcClientSecret: Secret | null): string {
  if (oidcClientSecret === null) return randomBytes(32).toString("base64url");
  return createHmac("sha256", oidcClientSecret.reveal())
    .update("codex-fleet oidc flow cookie")
    .digest("base64url");
}

/**
 * Attributes of the session cookie: HttpOnly (scripts never see it), SameSite=Strict (no
 * cross-site request carries it: the first CSRF defence), Path=/, Secure when served over https.
 * `maxAgeMs` 0 deletes the cookie.
 */
export function sessionCookieOptions(opts: { maxAgeMs: number; secure: boolean }): CookieSerializeOptions {
  return {
    path: "/",
    httpOnly: true,
    sameSite: "strict",
    maxAge: Math.max(0, Math.floor(opts.maxAgeMs / 1000)),
    secure: opts.secure,
  };
}

/** How long a sign-in at the provider may take, from the login redirect to the callback. */
export const OIDC_FLOW_TTL_MS = 10 * 60_000;

/**
 * Attributes of the flow cookie: signed, HttpOnly, sent only to the callback path, gone after ten
 * minutes. SameSite=Lax, not Strict: the provider's redirect back is a cross-site navigation, on
 * which browsers withhold Strict cookies (Lax ones go with top-level GET navigations).
 */
export function flowCookieOptions(opts: { maxAgeMs: number; secure: boolean }): CookieSerializeOptions {
  return {
    path: OIDC_CALLBACK_PATH,
    httpOnly: true,
    sameSite: "lax",
    maxAge: Math.max(0, Math.floor(opts.maxAgeMs / 1000)),
    secure: opts.secure,
    signed: true,
  };
}
