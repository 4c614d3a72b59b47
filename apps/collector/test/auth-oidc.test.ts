/**
 * Single sign-on over HTTP (issue 17), against a real OpenID Connect provider (`oidc-provider`,
 * in-process on 127.0.0.1:0) and the product's composition root on a real Postgres: the login
 * redirect (PKCE S256, state, nonce, the signed flow cookie), the callback making a session that
 * carries the person, roles from the `groups` claim, the refusal page, and the callbacks that
 * must fail — a changed state, a replayed code, a missing or forged flow cookie, an expired
 * flow, the provider's own refusal — and the login route without configuration.
 */
import { createHash } from "node:crypto";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import type { AlertView } from "@codex-fleet/protocol/api";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, AUTH_ON_YAML, type AuthApp, startAuthApp } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";
import {
  CLIENT_SECRET,
  signInThroughProvider,
  startOidcProvider,
  type TestProvider,
} from "./support/oidc-provider.ts";

const PUBLIC_URL = "http://fleet.test";
const ACCOUNTS = {
  alice: { name: "Alice Admin", email: "alice@example.com", groups: ["staff", "fleet-admins"] },
  carol: { name: "Carol Viewer", email: "carol@example.com", groups: ["fleet-viewers"] },
  bob: { name: "Bob <b>Contractor</b>", email: "bob@example.com", groups: ["contractors"] },
};

/** A collector with single sign-on against `issuer`. */
const oidcYaml = (issuer: string, mode = "on", extra: string[] = []) =>
  [
    `server: { host: 127.0.0.1, port: 0, publicUrl: '${PUBLIC_URL}', allowedHosts: [fleet.test] }`,
    "auth:",
    `  mode: '${mode}'`,
    "  adminTokenEnv: ADMIN_TOKEN",
    "  viewerTokenEnv: VIEWER_TOKEN",
    "  oidc:",
    `    issuer: '${issuer}'`,
    "    clientId: codex-fleet",
    "    clientSecretEnv: OIDC_SECRET",
    "    scopes: openid profile email groups",
    "    roleMap: { adminValues: [fleet-admins], viewerValues: [fleet-viewers] }",
    "    displayName: Test IdP",
    "    contact: '#platform-help'",
    ...extra,
  ].join("\n");

/** A target whose port refuses connections, and a rule that fires on it at once (acks). */
const ALERTS = [
  "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }]",
  "observer: { minBackoffMs: 50, maxBackoffMs: 200, connectTimeoutMs: 1000 }",
  "alerts:",
  "  evaluateIntervalMs: 100",
  "  rules:",
  "    - { id: target-down, kind: targetUnreachable, forMs: 0 }",
];

let testDb: TestDatabase;
let idp: TestProvider;
let fleet: AuthApp;
let clock = Date.now();

beforeAll(async () => {
  testDb = await createTestDatabase();
  idp = await startOidcProvider({
    redirectUri: `${PUBLIC_URL}/api/v1/auth/oidc/callback`,
    postLogoutRedirectUri: PUBLIC_URL,
    accounts: ACCOUNTS,
  });
  fleet = await startAuthApp({
    db: testDb,
    yaml: oidcYaml(idp.issuer, "on", ALERTS),
    env: { OIDC_SECRET: CLIENT_SECRET },
    now: () => clock,
  });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await idp?.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

const inject = (app: AuthApp, opts: InjectOptions) =>
  app.app.inject({ ...opts, headers: { host: "fleet.test", ...opts.headers } });

/** `name=value` of the Set-Cookie for `name`, or null. */
function cookieOf(res: LightMyRequestResponse, name: string): string | null {
  const line = [res.headers["set-cookie"] ?? []].flat().find((c) => c.startsWith(`${name}=`));
  return line === undefined ? null : (line.split(";")[0] ?? null);
}

/** Begin a sign-in: the provider URL and the flow cookie. */
async function begin(): Promise<{ authorizationUrl: URL; flowCookie: string }> {
  const res = await inject(fleet, { url: "/api/v1/auth/oidc/login" });
  expect(res.statusCode).toBe(302);
  const flowCookie = cookieOf(res, "fleet_oidc");
  expect(flowCookie).not.toBeNull();
  return { authorizationUrl: new URL(String(res.headers.location)), flowCookie: flowCookie ?? "" };
}

/** The collector's answer to the provider's redirect back. */
const callback = (url: URL, flowCookie: string | null, app: AuthApp = fleet) =>
  inject(app, {
    url: `${url.pathname}${url.search}`,
    headers: flowCookie === null ? {} : { cookie: flowCookie },
  });

/** Sign in as `login` all the way; returns the callback answer. */
async function signIn(login: string): Promise<LightMyRequestResponse> {
  const { authorizationUrl, flowCookie } = await begin();
  return callback(await signInThroughProvider(authorizationUrl.href, login), flowCookie);
}

describe("single sign-on", () => {
  it("does send the browser to the provider with PKCE S256, state and nonce in a signed flow cookie", async () => {
    const res = await inject(fleet, { url: "/api/v1/auth/oidc/login" });
    expect(res.statusCode).toBe(302);
    const url = new URL(String(res.headers.location));
    expect(url.origin).toBe(idp.issuer);
    const params = Object.fromEntries(url.searchParams);
    expect(params).toMatchObject({
      client_id: "codex-fleet",
      response_type: "code",
      redirect_uri: "http://fleet.test/api/v1/auth/oidc/callback",
      scope: "openid profile email groups",
      code_challenge_method: "S256",
    });
    expect(params.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.state).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(params.nonce).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const line = [res.headers["set-cookie"] ?? []].flat().join("\n");
    expect(line).toMatch(/^fleet_oidc=[^;]+\.[^;]+; /);
    expect(line).toContain("HttpOnly");
    expect(line).toContain("SameSite=Lax");
    expect(line).toContain("Path=/api/v1/auth/oidc/callback");
    // The cookie carries the verifier whose S256 challenge went out, and the same state and nonce.
    const payload = decodeURIComponent(line.slice("fleet_oidc=".length, line.indexOf(";")));
    const flow = JSON.parse(Buffer.from(payload.slice(0, payload.lastIndexOf(".")), "base64url").toString());
    expect(createHash("sha256").update(flow.verifier).digest("base64url")).toBe(params.code_challenge);
    expect([flow.state, flow.nonce]).toEqual([params.state, params.nonce]);
    expect(url.href).not.toContain(flow.verifier);
  });

  it("does sign in a person with the role of their group and their name and email", async () => {
    const res = await signIn("alice");
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("/");
    const session = cookieOf(res, "fleet_session");
    expect(session).toMatch(/^fleet_session=[A-Za-z0-9_-]{43}$/);
    // The flow cookie is cleared.
    expect(cookieOf(res, "fleet_oidc")).toBe("fleet_oidc=");
    const me = await inject(fleet, { url: "/api/v1/auth/me", headers: { cookie: session ?? "" } });
    expect(me.json()).toMatchObject({
      role: "admin",
      authEnabled: true,
      oidc: true,
      principal: { kind: "oidc", name: "Alice Admin", email: "alice@example.com" },
    });
    expect(fleet.logs.join("")).toContain("signed in through single sign-on");
    expect(fleet.logs.join("")).not.toContain(CLIENT_SECRET);
    // The sign-in is in the audit log under the person.
    const audit = await inject(fleet, {
      url: "/api/v1/audit?action=auth.login",
      headers: { cookie: session ?? "" },
    });
    expect(audit.statusCode).toBe(200);
    expect(audit.json()).toContainEqual(
      expect.objectContaining({
        action: "auth.login",
        principal: { kind: "oidc", name: "Alice Admin", email: "alice@example.com" },
        detail: { via: "oidc", role: "admin" },
      }),
    );
  });

  it("does give the viewer role to a viewer group, and no admin changes", async () => {
    const session = cookieOf(await signIn("carol"), "fleet_session") ?? "";
    const me = await inject(fleet, { url: "/api/v1/auth/me", headers: { cookie: session } });
    expect(me.json()).toMatchObject({ role: "viewer", principal: { name: "Carol Viewer" } });
    const write = await inject(fleet, {
      method: "POST",
      url: "/api/v1/targets",
      payload: { name: "x", url: "ws://127.0.0.1:1" },
      headers: { cookie: session, origin: "http://fleet.test" },
    });
    expect(write.statusCode).toBe(403);
  });

  it("does refuse a person without a mapped role with a page saying why and whom to ask", async () => {
    const res = await signIn("bob");
    expect(res.statusCode).toBe(403);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(cookieOf(res, "fleet_session")).toBeNull();
    expect(res.body).toContain("No access to codex-fleet");
    expect(res.body).toContain("none of your `groups` values (contractors) is given a role");
    expect(res.body).toContain("ask #platform-help");
    // The provider's values are escaped, never markup.
    expect(res.body).toContain("Bob &lt;b&gt;Contractor&lt;/b&gt;");
    expect(res.body).not.toContain("<b>");
  });

  it("does end the session on sign-out", async () => {
    const session = cookieOf(await signIn("alice"), "fleet_session") ?? "";
    expect((await inject(fleet, { url: "/api/v1/targets", headers: { cookie: session } })).statusCode).toBe(
      200,
    );
    const out = await inject(fleet, {
      method: "POST",
      url: "/api/v1/auth/logout",
      headers: { cookie: session, origin: "http://fleet.test" },
    });
    expect(out.statusCode).toBe(204);
    expect(cookieOf(out, "fleet_session")).toBe("fleet_session=");
    expect((await inject(fleet, { url: "/api/v1/targets", headers: { cookie: session } })).statusCode).toBe(
      401,
    );
  });

  it("does acknowledge an alert in the person's name", async () => {
    const cookie = cookieOf(await signIn("carol"), "fleet_session") ?? "";
    const headers = { cookie, origin: "http://fleet.test" };
    let id = "";
    await waitUntil(
      "target-down firing",
      async () => {
        const res = await inject(fleet, { url: "/api/v1/alerts?state=firing&rule=target-down", headers });
        id = (res.json() as AlertView[])[0]?.id ?? "";
        return id !== "";
      },
      20_000,
    );
    const res = await inject(fleet, {
      method: "POST",
      url: `/api/v1/alerts/${id}/ack`,
      payload: { by: "mallory" },
      headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ackBy: "Carol Viewer", ackRole: "viewer" });
  });

  it("does keep the static tokens working beside it (break-glass)", async () => {
    const me = await inject(fleet, {
      url: "/api/v1/auth/me",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(me.json()).toMatchObject({
      role: "admin",
      oidc: true,
      principal: { kind: "token", name: "admin token" },
    });
  });

  it("does offer single sign-on to the sign-in page", async () => {
    const res = await inject(fleet, { url: "/api/v1/auth/methods" });
    expect(res.json()).toEqual({
      authEnabled: true,
      oidc: { label: "Test IdP", loginUrl: "/api/v1/auth/oidc/login" },
    });
  });
});

describe("single sign-on callbacks that must fail", () => {
  const noSession = (res: LightMyRequestResponse) => expect(cookieOf(res, "fleet_session")).toBeNull();

  it("does refuse a callback whose state is not the one sent", async () => {
    const { authorizationUrl, flowCookie } = await begin();
    const back = await signInThroughProvider(authorizationUrl.href, "alice");
    back.searchParams.set("state", "forged-state-0123456789abcdef");
    const res = await callback(back, flowCookie);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain(
      "did not pass the checks (unexpected &quot;state&quot; response parameter value)",
    );
    noSession(res);
  });

  it("does refuse a replayed code", async () => {
    const { authorizationUrl, flowCookie } = await begin();
    const back = await signInThroughProvider(authorizationUrl.href, "alice");
    expect((await callback(back, flowCookie)).statusCode).toBe(302);
    const again = await callback(back, flowCookie);
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain("refused the sign-in code (invalid_grant");
    noSession(again);
  });

  it("does refuse a callback without the flow cookie, or with a forged one", async () => {
    const { authorizationUrl, flowCookie } = await begin();
    const back = await signInThroughProvider(authorizationUrl.href, "alice");
    const missing = await callback(back, null);
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain("This sign-in has expired");
    noSession(missing);
    // The same payload with another signature.
    const forged = `${flowCookie.slice(0, flowCookie.lastIndexOf(".") + 1)}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
    const res = await callback(back, forged);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("This sign-in has expired");
    noSession(res);
    // The genuine cookie still completes that sign-in: the failures consumed nothing.
    expect((await callback(back, flowCookie)).statusCode).toBe(302);
  });

  it("does refuse a flow older than ten minutes", async () => {
    const { authorizationUrl, flowCookie } = await begin();
    const back = await signInThroughProvider(authorizationUrl.href, "alice");
    clock += 11 * 60_000;
    try {
      const res = await callback(back, flowCookie);
      expect(res.statusCode).toBe(400);
      expect(res.body).toContain("This sign-in has expired");
      noSession(res);
    } finally {
      clock -= 11 * 60_000;
    }
  });

  it("does show the provider's own refusal", async () => {
    const { authorizationUrl, flowCookie } = await begin();
    const state = authorizationUrl.searchParams.get("state") ?? "";
    const back = new URL(`${PUBLIC_URL}/api/v1/auth/oidc/callback`);
    back.search = new URLSearchParams({
      error: "access_denied",
      error_description: "End-User aborted interaction",
      state,
      iss: idp.issuer,
    }).toString();
    const res = await callback(back, flowCookie);
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain("did not sign you in (access_denied: End-User aborted interaction)");
    noSession(res);
  });
});

describe("single sign-on across collectors", () => {
  it("does complete on another collector of the database a sign-in one of them began", async () => {
    const other = await startAuthApp({
      db: testDb,
      yaml: oidcYaml(idp.issuer),
      env: { OIDC_SECRET: CLIENT_SECRET },
    });
    try {
      const { authorizationUrl, flowCookie } = await begin();
      const back = await signInThroughProvider(authorizationUrl.href, "carol");
      const res = await callback(back, flowCookie, other);
      expect(res.statusCode).toBe(302);
      const session = cookieOf(res, "fleet_session") ?? "";
      // The session is in the shared table: the first collector knows it too.
      const me = await inject(fleet, { url: "/api/v1/auth/me", headers: { cookie: session } });
      expect(me.json()).toMatchObject({ role: "viewer", principal: { kind: "oidc", name: "Carol Viewer" } });
    } finally {
      await other.stop();
    }
  });
});

describe("signing out at the provider too", () => {
  it("does answer the provider's end-session URL when auth.oidc.providerLogout is on", async () => {
    const withLogout = await startAuthApp({
      db: testDb,
      yaml: oidcYaml(idp.issuer, "on", ["    providerLogout: true"]),
      env: { OIDC_SECRET: CLIENT_SECRET },
    });
    try {
      const res0 = await inject(withLogout, { url: "/api/v1/auth/oidc/login" });
      const flowCookie = cookieOf(res0, "fleet_oidc") ?? "";
      const back = await signInThroughProvider(String(res0.headers.location), "alice");
      const session = cookieOf(await callback(back, flowCookie, withLogout), "fleet_session") ?? "";
      const out = await inject(withLogout, {
        method: "POST",
        url: "/api/v1/auth/logout",
        headers: { cookie: session, origin: "http://fleet.test" },
      });
      expect(out.statusCode).toBe(200);
      const to = new URL(out.json().redirectTo);
      expect(`${to.origin}${to.pathname}`).toBe(`${idp.issuer}/session/end`);
      expect(Object.fromEntries(to.searchParams)).toEqual({
        client_id: "codex-fleet",
        post_logout_redirect_uri: PUBLIC_URL,
      });
      expect(
        (await inject(withLogout, { url: "/api/v1/auth/me", headers: { cookie: session } })).statusCode,
      ).toBe(401);
      // A static-token session has nothing to end at the provider.
      const login = await inject(withLogout, {
        method: "POST",
        url: "/api/v1/auth/login",
        payload: { token: ADMIN_TOKEN },
      });
      const tokenSession = cookieOf(login, "fleet_session") ?? "";
      const out2 = await inject(withLogout, {
        method: "POST",
        url: "/api/v1/auth/logout",
        headers: { cookie: tokenSession, origin: "http://fleet.test" },
      });
      expect(out2.statusCode).toBe(204);
    } finally {
      await withLogout.stop();
    }
  });
});

describe("single sign-on not available", () => {
  it("does answer 404 saying so when auth.oidc is not configured", async () => {
    const plain = await startAuthApp({ db: testDb, yaml: AUTH_ON_YAML });
    try {
      const res = await inject(plain, { url: "/api/v1/auth/oidc/login" });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatchObject({ code: "OIDC_NOT_CONFIGURED" });
      expect(res.json().error.message).toContain(
        "single sign-on is not configured on this collector: set auth.oidc",
      );
      expect((await inject(plain, { url: "/api/v1/auth/methods" })).json()).toEqual({
        authEnabled: true,
        oidc: null,
      });
      const me = await inject(plain, {
        url: "/api/v1/auth/me",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(me.json().oidc).toBe(false);
    } finally {
      await plain.stop();
    }
  });

  it("does answer 409 when authentication is off", async () => {
    const off = await startAuthApp({
      db: testDb,
      yaml: oidcYaml(idp.issuer, "off"),
      env: { OIDC_SECRET: CLIENT_SECRET },
    });
    try {
      const res = await inject(off, { url: "/api/v1/auth/oidc/login" });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.message).toContain("authentication is off");
    } finally {
      await off.stop();
    }
  });

  it("does answer 502 with a page when the provider cannot be reached", async () => {
    const down = await startAuthApp({
      db: testDb,
      yaml: oidcYaml("http://127.0.0.1:9"),
      env: { OIDC_SECRET: CLIENT_SECRET },
    });
    try {
      const res = await inject(down, { url: "/api/v1/auth/oidc/login" });
      expect(res.statusCode).toBe(502);
      expect(res.body).toContain("The identity provider could not be reached");
      expect(cookieOf(res, "fleet_oidc")).toBeNull();
    } finally {
      await down.stop();
    }
  });
});
