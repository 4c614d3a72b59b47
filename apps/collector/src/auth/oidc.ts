/**
 * Single sign-on through an OpenID Connect provider (issue 17): the authorization code flow with
 * PKCE, state and nonce, done by `openid-client`; and the pure parts around it — the role a
 * person's claims map to, their name and email, and the flow state the browser carries (signed,
 * in the flow cookie) from the login redirect to the callback.
 */
import type { Role } from "@codex-fleet/protocol/auth";
import * as client from "openid-client";
import type { OidcConfig } from "../config/schema.ts";
import type { SessionPerson } from "./sessions.ts";

/** What the callback must compare the provider's answer with; lives in the flow cookie. */
export interface OidcFlow {
  state: string;
  nonce: string;
  /** The PKCE code verifier (its S256 challenge went to the provider). */
  verifier: string;
  /** When the sign-in began (the cookie's signature makes this trustworthy). */
  atMs: number;
}

/** The flow as the flow cookie's value (before signing). */
export function encodeFlow(flow: OidcFlow): string {
  return Buffer.from(JSON.stringify(flow), "utf8").toString("base64url");
}

/** The flow from a (verified) cookie value, or null when it is not one. */
export function decodeFlow(value: string): OidcFlow | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (typeof parsed !== "object" || parsed === null) return null;
    const { state, nonce, verifier, atMs } = parsed as Record<string, unknown>;
    if (typeof state !== "string" || typeof nonce !== "string" || typeof verifier !== "string") return null;
    if (typeof atMs !== "number" || !Number.isFinite(atMs)) return null;
    return { state, nonce, verifier, atMs };
  } catch {
    return null;
  }
}

/**
 * The values of claim `name`: a string is one value, an array gives its strings, anything else
 * none. A dotted name (`realm_access.roles`, Keycloak's) walks nested objects when no claim has
 * the literal name.
 */
export function claimValues(claims: Readonly<Record<string, unknown>>, name: string): string[] {
  let value: unknown = claims[name];
  if (value === undefined && name.includes(".")) {
    value = claims;
    for (const key of name.split(".")) {
      value =
        typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
  }
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/**
 * The role `claims` grant under `config`: admin when any value of the role claim is an admin
 * value, else viewer when any is a viewer value, else `defaultRole` (null: refused). Exact,
 * case-sensitive comparison: group names are identifiers at the provider.
 */
export function roleFromClaims(
  claims: Readonly<Record<string, unknown>>,
  config: Pick<OidcConfig, "roleClaim" | "roleMap" | "defaultRole">,
): { role: Role | null; values: string[] } {
  const values = claimValues(claims, config.roleClaim);
  if (values.some((v) => config.roleMap.adminValues.includes(v))) return { role: "admin", values };
  if (values.some((v) => config.roleMap.viewerValues.includes(v))) return { role: "viewer", values };
  return { role: config.defaultRole, values };
}

const MAX_NAME = 200;
const text = (value: unknown): string | null => {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed === "" ? null : trimmed.slice(0, MAX_NAME);
};

/**
 * The person `claims` describe: the provider's subject, a display name (name, else
 * preferred_username, else email, else the subject) and the email, when there is one.
 */
export function personFromClaims(claims: Readonly<Record<string, unknown>>): SessionPerson {
  const subject = text(claims.sub) ?? "";
  const email = text(claims.email);
  const name = text(claims.name) ?? text(claims.preferred_username) ?? email ?? subject;
  return { subject, name, email };
}

/** Why a callback failed, for the page the browser shows and the log. */
export class OidcFlowError extends Error {
  constructor(
    readonly statusCode: 400 | 403 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The relying party: discovers the provider on first use (and again after a failure, so a
 * provider that was down at start is found later), builds the authorization URL, and completes
 * the code exchange.
 */
export class OidcClient {
  #discovered: Promise<client.Configuration> | null = null;

  constructor(
    readonly config: OidcConfig,
    private readonly opts: { now?: () => number; timeoutMs?: number } = {},
  ) {}

  /** The provider's configuration (discovery), cached once it succeeds. */
  private discover(): Promise<client.Configuration> {
    if (this.#discovered === null) {
      const issuer = new URL(this.config.issuer);
      this.#discovered = client
        .discovery(issuer, this.config.clientId, this.config.clientSecret.reveal(), undefined, {
          timeout: (this.opts.timeoutMs ?? 10_000) / 1000,
          // Plain http is only accepted for a loopback issuer (config schema): a local test provider.
          execute: issuer.protocol === "http:" ? [client.allowInsecureRequests] : [],
        })
        .catch((err: unknown) => {
          this.#discovered = null;
          throw err;
        });
    }
    return this.#discovered;
  }

  /** Begin a sign-in: the provider URL to redirect the browser to and the flow to remember. */
  async begin(): Promise<{ url: string; flow: OidcFlow }> {
    const provider = await this.discover();
    const flow: OidcFlow = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      atMs: (this.opts.now ?? Date.now)(),
    };
    const url = client.buildAuthorizationUrl(provider, {
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes,
      response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: "S256",
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url: url.href, flow };
  }

  /**
   * Complete a sign-in from the callback's query string: check state, exchange the code (with
   * the PKCE verifier), verify the ID token (signature, issuer, audience, nonce), and read the
   * claims — the ID token's, overlaid with userinfo's when the provider has that endpoint (many
   * release `groups`, `email` there only). Throws OidcFlowError.
   */
  async complete(search: string, flow: OidcFlow): Promise<Record<string, unknown>> {
    let provider: client.Configuration;
    try {
      provider = await this.discover();
    } catch (err) {
      throw new OidcFlowError(502, `the identity provider could not be reached (${errorText(err)})`);
    }
    const callbackUrl = new URL(this.config.redirectUri);
    callbackUrl.search = search;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(provider, callbackUrl, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw classify(err);
    }
    const idClaims = tokens.claims();
    if (idClaims === undefined) throw new OidcFlowError(400, "the identity provider sent no ID token");
    const claims: Record<string, unknown> = { ...idClaims };
    if (provider.serverMetadata().userinfo_endpoint !== undefined) {
      try {
        const info = await client.fetchUserInfo(provider, tokens.access_token, idClaims.sub);
        Object.assign(claims, info, { sub: idClaims.sub });
      } catch (err) {
        throw new OidcFlowError(
          502,
          `the identity provider's userinfo could not be read (${errorText(err)})`,
        );
      }
    }
    return claims;
  }

  /**
   * The provider's sign-out URL returning to `returnTo`, when it has an end_session_endpoint
   * and discovery has happened (it has, for anyone who signed in through it); else null.
   */
  async endSessionUrl(returnTo: string): Promise<string | null> {
    let provider: client.Configuration;
    try {
      provider = await this.discover();
    } catch {
      return null;
    }
    if (provider.serverMetadata().end_session_endpoint === undefined) return null;
    return client.buildEndSessionUrl(provider, {
      client_id: this.config.clientId,
      post_logout_redirect_uri: returnTo,
    }).href;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An openid-client failure as the page's status and reason. */
function classify(err: unknown): OidcFlowError {
  if (err instanceof client.AuthorizationResponseError)
    return new OidcFlowError(
      403,
      `the identity provider did not sign you in (${err.error}${err.error_description ? `: ${err.error_description}` : ""})`,
    );
  if (err instanceof client.ResponseBodyError)
    // invalid_grant: a code used twice (a replayed callback), expired, or not issued to us.
    return new OidcFlowError(
      400,
      `the identity provider refused the sign-in code (${err.error}${err.error_description ? `: ${err.error_description}` : ""})`,
    );
  if (err instanceof client.ClientError) {
    // A response that fails a check: state mismatch, missing code, bad ID token or nonce. The
    // specific check is in the cause (oauth4webapi's error); the outer message is generic.
    const detail = err.cause instanceof Error ? err.cause.message : err.message;
    return new OidcFlowError(400, `the identity provider's answer did not pass the checks (${detail})`);
  }
  return new OidcFlowError(502, `the identity provider could not be reached (${errorText(err)})`);
}
