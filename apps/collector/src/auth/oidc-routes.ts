/**
 * The single sign-on routes (issue 17): GET /api/v1/auth/oidc/login redirects the browser to the
 * identity provider with a fresh state, nonce and PKCE challenge (remembered in the signed flow
 * cookie); GET /api/v1/auth/oidc/callback completes the sign-in, maps the person's claims to a
 * role and starts a session that carries who they are. Both are browser navigations, so their
 * outcomes are small HTML pages (a refused person learns why and whom to ask), not JSON.
 */
import { OIDC_CALLBACK_PATH, OIDC_LOGIN_PATH } from "@codex-fleet/protocol/auth";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import type { AuthConfig } from "../config/schema.ts";
import { ApiError } from "../http/errors.ts";
import { describeRoute, noBody } from "../http/openapi.ts";
import { noQuery, qp } from "../http/params.ts";
import type { Logger } from "../logger.ts";
import {
  flowCookieOptions,
  OIDC_FLOW_COOKIE,
  OIDC_FLOW_TTL_MS,
  SESSION_COOKIE,
  sessionCookieOptions,
} from "./cookies.ts";
import {
  decodeFlow,
  encodeFlow,
  type OidcClient,
  OidcFlowError,
  personFromClaims,
  roleFromClaims,
} from "./oidc.ts";
import type { SessionStore } from "./sessions.ts";

/** What the routes need from installAuth. */
export interface OidcRouteDeps {
  config: AuthConfig;
  /** Null when auth.oidc is not configured. */
  oidc: OidcClient | null;
  sessions: SessionStore;
  log: Logger;
  now: () => number;
}

/** Parameters the provider's answer carries that we read; each must come once. */
const CALLBACK_PARAMS = ["code", "state", "iss", "error", "error_description"] as const;

/** Register the login and callback routes (always: unconfigured, they answer 404 saying so). */
export function installOidcRoutes(app: FastifyInstance, deps: OidcRouteDeps): void {
  const { config, log } = deps;

  /** The client, or the 404/409 that says why single sign-on is not available. */
  const available = (): OidcClient => {
    if (deps.oidc === null)
      throw new ApiError(
        404,
        "OIDC_NOT_CONFIGURED",
        'single sign-on is not configured on this collector: set auth.oidc (README "Access"), or sign in with a token',
      );
    if (!config.enabled)
      throw new ApiError(409, "AUTH_DISABLED", "authentication is off on this collector: no sign-in needed");
    return deps.oidc;
  };

  const redirect = noBody("A redirect (Location header)");
  const html = {
    description: "A page explaining the failure",
    content: { "text/html": { schema: z.string() } },
  };
  const loginSchema = describeRoute({
    tags: ["auth"],
    summary: "Start single sign-on: a browser navigation, redirected to the identity provider",
    open: true,
    query: noQuery,
    response: { 302: redirect, 502: html },
  });
  app.get(OIDC_LOGIN_PATH, loginSchema, async (_req, reply) => {
    const oidc = available();
    let begun: Awaited<ReturnType<OidcClient["begin"]>>;
    try {
      begun = await oidc.begin();
    } catch (err) {
      log.warn(
        { issuer: oidc.config.issuer, err: String(err) },
        "single sign-on: the identity provider could not be reached",
      );
      return page(reply, 502, "The identity provider could not be reached", [
        `codex-fleet could not reach ${oidc.config.displayName} to start the sign-in. Try again in a moment; if it keeps failing, tell the collector's operator.`,
      ]);
    }
    void reply.setCookie(
      OIDC_FLOW_COOKIE,
      encodeFlow(begun.flow),
      flowCookieOptions({ maxAgeMs: OIDC_FLOW_TTL_MS, secure: config.secureCookies }),
    );
    return reply.redirect(begun.url, 302);
  });

  const callbackSchema = describeRoute({
    tags: ["auth"],
    summary: "The identity provider's answer; signs in and redirects to the dashboard",
    description: "Parameters the provider adds beyond these are ignored; each of these must come once.",
    open: true,
    // Providers add parameters of their own (session_state, scope, authuser…): unknown ones are
    // ignored here, unlike on other routes; the ones we read must come once.
    query: z.looseObject(Object.fromEntries(CALLBACK_PARAMS.map((n) => [n, qp.string(`OAuth ${n}`, 4096)]))),
    response: { 302: redirect, 403: html, 502: html },
  });
  app.get(OIDC_CALLBACK_PATH, callbackSchema, async (req, reply) => {
    const oidc = available();
    // The flow cookie is for one answer only: cleared whatever the outcome.
    void reply.setCookie(OIDC_FLOW_COOKIE, "", {
      ...flowCookieOptions({ maxAgeMs: 0, secure: config.secureCookies }),
      signed: false,
    });
    const raw = req.cookies[OIDC_FLOW_COOKIE];
    const unsigned = raw ? req.unsignCookie(raw) : null;
    const flow = unsigned?.valid && unsigned.value !== null ? decodeFlow(unsigned.value) : null;
    const again = [`<a href="${OIDC_LOGIN_PATH}">Sign in again</a>`];
    if (flow === null || deps.now() - flow.atMs > OIDC_FLOW_TTL_MS) {
      log.warn(
        { ip: req.ip, cookie: raw ? "invalid or expired" : "missing" },
        "single sign-on refused: no sign-in in progress",
      );
      return page(
        reply,
        400,
        "This sign-in has expired",
        [
          "No sign-in was in progress in this browser: it took longer than ten minutes, or it was started in another browser or tab.",
        ],
        again,
      );
    }
    const search = new URL(req.url, "http://callback").search;
    let claims: Record<string, unknown>;
    try {
      claims = await oidc.complete(search, flow);
    } catch (err) {
      const failure = err instanceof OidcFlowError ? err : new OidcFlowError(502, String(err));
      log.warn({ ip: req.ip, status: failure.statusCode, reason: failure.message }, "single sign-on failed");
      return page(
        reply,
        failure.statusCode,
        "Sign-in failed",
        [`The sign-in could not be completed: ${failure.message}.`],
        again,
      );
    }
    const person = personFromClaims(claims);
    const { role, values } = roleFromClaims(claims, oidc.config);
    if (role === null) {
      log.warn(
        { subject: person.subject, claim: oidc.config.roleClaim, values: values.slice(0, 20) },
        "single sign-on refused: no role for this person",
      );
      const who = person.email === null ? person.name : `${person.name} (${person.email})`;
      const got =
        values.length === 0
          ? `your account has no \`${oidc.config.roleClaim}\` claim`
          : `none of your \`${oidc.config.roleClaim}\` values (${values.slice(0, 20).join(", ")}) is given a role`;
      return page(reply, 403, "No access to codex-fleet", [
        `${oidc.config.displayName} signed you in as ${who}, but codex-fleet gives you no role: ${got}.`,
        `To get access, ask ${oidc.config.contact ?? "the person who runs this codex-fleet collector"} to add one of your groups to auth.oidc.roleMap (or to set auth.oidc.defaultRole).`,
      ]);
    }
    const { id } = await deps.sessions.create(role, person);
    log.info({ ip: req.ip, role, subject: person.subject }, "signed in through single sign-on");
    await req.audit({
      action: "auth.login",
      subject: person.name,
      detail: { via: "oidc", role },
      principal: { kind: "oidc", name: person.name, email: person.email },
    });
    void reply.setCookie(
      SESSION_COOKIE,
      id,
      sessionCookieOptions({ maxAgeMs: config.sessionTtlMs, secure: config.secureCookies }),
    );
    return reply.redirect("/", 302);
  });
}

const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='4' fill='%234f6bed'/%3E%3Cpath d='M4 8h8M8 4v8' stroke='white' stroke-width='2'/%3E%3C/svg%3E";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
/** `text` safe inside HTML (the provider's error text, claim values and names are untrusted). */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/**
 * A plain HTML page (no script, no inline style: the collector's CSP applies) with `status`,
 * escaped paragraphs and trusted link HTML; always a way back to the dashboard.
 */
function page(
  reply: FastifyReply,
  status: number,
  title: string,
  paragraphs: readonly string[],
  links: readonly string[] = [],
): FastifyReply {
  const body = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    // The dashboard's icon (a data: URL, as in its index.html): no request for /favicon.ico.
    `<link rel="icon" href="${ICON}">`,
    `<title>${escapeHtml(title)} · codex-fleet</title></head>`,
    `<body><main><h1>${escapeHtml(title)}</h1>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p>${[...links, '<a href="/">Back to codex-fleet</a>'].join(" · ")}</p>`,
    "</main></body></html>",
  ].join("\n");
  return reply.status(status).type("text/html; charset=utf-8").send(body);
}
