/**
 * The `auth` config section and CODEX_FLEET_SECRET_KEY through the real loader: when auth is on,
 * where tokens come from, and errors that name the key without printing a secret.
 */
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { errorOf, loadFile, removeScratchDirs } from "./support/config-files.ts";

afterAll(removeScratchDirs);

const ADMIN = "admin-token-0123456789abcdef";
const VIEWER = "viewer-token-0123456789abcdef";
const KEY_HEX = "0f".repeat(32);

describe("auth: when it is on", () => {
  it.each([
    ["auto", "127.0.0.1", {}, false],
    ["auto", "localhost", {}, false],
    ["auto", "::1", {}, false],
    ["auto", "0.0.0.0", { CODEX_FLEET_ADMIN_TOKEN: ADMIN }, true],
    ["auto", "fleet.internal", { CODEX_FLEET_ADMIN_TOKEN: ADMIN }, true],
    ["on", "127.0.0.1", { CODEX_FLEET_ADMIN_TOKEN: ADMIN }, true],
    ["off", "0.0.0.0", {}, false],
  ])("does decide mode %s on host %s → enabled %s", async (mode, host, env, enabled) => {
    const { config } = await loadFile(`server: { host: '${host}' }\nauth: { mode: ${mode} }`, { env });
    expect(config.auth.enabled).toBe(enabled);
  });

  it("does follow a HOST override that leaves loopback", async () => {
    const { config } = await loadFile("auth: {}", {
      env: { HOST: "0.0.0.0", CODEX_FLEET_ADMIN_TOKEN: ADMIN },
    });
    expect(config.auth.enabled).toBe(true);
  });

  it("does fill the defaults", async () => {
    const { config } = await loadFile("server: { publicUrl: 'https://fleet.example.com' }");
    expect(config.auth).toMatchObject({
      mode: "auto",
      enabled: false,
      adminToken: null,
      viewerToken: null,
      sessionTtlMs: 43_200_000,
      secureCookies: true,
      allowedOrigins: [],
      loginRateLimit: { max: 10, windowMs: 300_000 },
      oidc: null,
      secretKey: null,
    });
  });

  it("does let secureCookies: false override an https publicUrl, and normalize allowed origins", async () => {
    const { config } = await loadFile(
      "server: { publicUrl: 'https://fleet.example.com' }\nauth: { secureCookies: false, allowedOrigins: ['http://localhost:5173/'] }",
    );
    expect(config.auth.secureCookies).toBe(false);
    expect(config.auth.allowedOrigins).toEqual(["http://localhost:5173"]);
  });
});

describe("auth: tokens", () => {
  it.each([
    ["a file (trimmed)", "auth: { adminTokenFile: admin.token, viewerTokenFile: viewer.token }", {}],
    ["named variables", "auth: { adminTokenEnv: A, viewerTokenEnv: V }", { A: ADMIN, V: VIEWER }],
    [
      "the default variables",
      "auth: {}",
      { CODEX_FLEET_ADMIN_TOKEN: ADMIN, CODEX_FLEET_VIEWER_TOKEN: VIEWER },
    ],
  ])("does read them from %s as Secrets", async (_, yaml, env) => {
    const files = { "admin.token": `  ${ADMIN}\n`, "viewer.token": `${VIEWER}\n` };
    const { config } = await loadFile(yaml, { env, files });
    expect(config.auth.adminToken?.reveal()).toBe(ADMIN);
    expect(config.auth.viewerToken?.reveal()).toBe(VIEWER);
    expect(JSON.stringify(config.auth)).not.toContain(ADMIN);
    expect(inspect(config.auth, { depth: 5 })).not.toContain(VIEWER);
  });
});

describe("auth: errors", () => {
  it.each([
    [
      "no admin token while on",
      "server: { host: 0.0.0.0 }",
      {},
      "auth: authentication is on (server.host 0.0.0.0 is not a loopback address) but no admin token is set",
    ],
    ["no admin token with mode on", "auth: { mode: on }", {}, "auth: authentication is on (auth.mode is on)"],
    [
      "a short token",
      "auth: { adminTokenEnv: A }",
      { A: "short-secret" },
      "auth.adminTokenEnv: the admin token is too short",
    ],
    [
      "a short default variable",
      "auth: {}",
      { CODEX_FLEET_VIEWER_TOKEN: "short-secret" },
      "CODEX_FLEET_VIEWER_TOKEN: the viewer token is too short",
    ],
    [
      "an unset variable",
      "auth: { adminTokenEnv: NOPE }",
      {},
      "auth.adminTokenEnv: environment variable NOPE is unset",
    ],
    ["a missing file", "auth: { viewerTokenFile: nope.token }", {}, "auth.viewerTokenFile: cannot read"],
    [
      "file and variable",
      "auth: { adminTokenFile: a.token, adminTokenEnv: A }",
      {},
      "auth.adminTokenEnv: set at most one of adminTokenFile and adminTokenEnv",
    ],
    [
      "one token for both roles",
      "auth: { adminTokenEnv: A, viewerTokenEnv: B }",
      { A: ADMIN, B: ADMIN },
      "auth.viewerTokenFile: the viewer token must differ from the admin token",
    ],
    ["a bad mode", "auth: { mode: maybe }", {}, "auth.mode"],
    ["an unknown key", "auth: { password: x }", {}, "auth.password"],
    ["a path in an origin", "auth: { allowedOrigins: ['http://h/x'] }", {}, "auth.allowedOrigins[0]"],
    [
      "a long session",
      "auth: { sessionTtlMs: 9999999999 }",
      {},
      "auth.sessionTtlMs: must be at most 30 days",
    ],
  ])("does name the key for %s, never the secret", async (_, yaml, env, expected) => {
    const message = await errorOf(loadFile(yaml, { env }));
    expect(message).toContain(expected);
    expect(message).not.toContain("short-secret");
    expect(message).not.toContain(ADMIN);
  });
});

describe("CODEX_FLEET_SECRET_KEY", () => {
  it.each([
    ["64 hex digits", KEY_HEX.toUpperCase()],
    ["base64", Buffer.from(KEY_HEX, "hex").toString("base64")],
    ["base64url", Buffer.from(KEY_HEX, "hex").toString("base64url")],
  ])("does accept %s as the 32-byte key", async (_, key) => {
    const { config } = await loadFile("", { env: { CODEX_FLEET_SECRET_KEY: key } });
    expect(config.auth.secretKey?.reveal()).toBe(KEY_HEX);
    expect(String(config.auth.secretKey)).toBe("[redacted]");
  });

  it.each([
    ["too short", "abcd1234"],
    ["31 bytes", "0f".repeat(31)],
    ["a passphrase", "correct horse battery staple correct horse battery"],
  ])("does refuse a key that is %s, without printing it", async (_, key) => {
    const message = await errorOf(loadFile("", { env: { CODEX_FLEET_SECRET_KEY: key } }));
    expect(message).toContain("CODEX_FLEET_SECRET_KEY: must be 32 random bytes as 64 hex digits or base64");
    expect(message).not.toContain(key);
  });
});

describe("auth.oidc", () => {
  const SECRET = "oidc-client-secret-7e2c91";
  const PUBLIC = "server: { publicUrl: 'https://fleet.example.com/' }";

  it("does fill the defaults, read the client secret as a Secret and fix the redirect URI", async () => {
    const { config } = await loadFile(
      `${PUBLIC}\nauth: { oidc: { issuer: 'https://login.example.com/realms/eng', clientId: fleet } }`,
      { env: { CODEX_FLEET_OIDC_CLIENT_SECRET: SECRET } },
    );
    expect(config.auth.oidc).toMatchObject({
      issuer: "https://login.example.com/realms/eng",
      clientId: "fleet",
      redirectUri: "https://fleet.example.com/api/v1/auth/oidc/callback",
      scopes: "openid profile email",
      roleClaim: "groups",
      roleMap: { adminValues: [], viewerValues: [] },
      defaultRole: null,
      displayName: "login.example.com",
      contact: null,
      providerLogout: false,
    });
    expect(config.auth.oidc?.clientSecret.reveal()).toBe(SECRET);
    expect(JSON.stringify(config.auth)).not.toContain(SECRET);
  });

  it("does read the client secret from a file", async () => {
    const { config } = await loadFile(
      `${PUBLIC}\nauth: { oidc: { issuer: 'https://idp.example.com', clientId: f, clientSecretFile: oidc.secret } }`,
      { files: { "oidc.secret": `${SECRET}\n` } },
    );
    expect(config.auth.oidc?.clientSecret.reveal()).toBe(SECRET);
  });

  it.each([
    [
      "no publicUrl",
      "auth: { oidc: { issuer: 'https://i.example', clientId: f } }",
      "server.publicUrl: single sign-on",
    ],
    [
      "no client secret",
      `${PUBLIC}\nauth: { oidc: { issuer: 'https://i.example', clientId: f, clientSecretEnv: NOPE } }`,
      "auth.oidc.clientSecretEnv: environment variable NOPE is unset",
    ],
    [
      "plain http to a remote issuer",
      `${PUBLIC}\nauth: { oidc: { issuer: 'http://idp.example.com', clientId: f } }`,
      "auth.oidc.issuer: must be https://",
    ],
    [
      "scopes without openid",
      `${PUBLIC}\nauth: { oidc: { issuer: 'https://i.example', clientId: f, scopes: 'profile email' } }`,
      "auth.oidc.scopes: must include openid",
    ],
    [
      "an unknown key",
      `${PUBLIC}\nauth: { oidc: { issuer: 'https://i.example', clientId: f, clientSecret: x } }`,
      "auth.oidc.clientSecret",
    ],
    [
      "a bad default role",
      `${PUBLIC}\nauth: { oidc: { issuer: 'https://i.example', clientId: f, defaultRole: owner } }`,
      "auth.oidc.defaultRole",
    ],
  ])("does name the key for %s", async (_, yaml, expected) => {
    const message = await errorOf(loadFile(yaml, { env: { CODEX_FLEET_OIDC_CLIENT_SECRET: SECRET } }));
    expect(message).toContain(expected);
    expect(message).not.toContain(SECRET);
  });
});
