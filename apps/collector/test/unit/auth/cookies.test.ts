/**
 * The cookies' attributes as @fastify/cookie writes them (through a real Fastify instance), and
 * as @fastify/cookie parses the Cookie header for the auth hook.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cookieSigningKey,
  flowCookieOptions,
  installCookies,
  SESSION_COOKIE,
  sessionCookieOptions,
} from "../../../src/auth/cookies.ts";
import { Secret } from "../../../src/config/secret.ts";

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  await installCookies(app, { signingKey: cookieSigningKey(new Secret("client-secret")) });
  app.get("/read", async (req) => ({ value: req.cookies[SESSION_COOKIE] ?? null }));
  app.get("/session", async (req, reply) => {
    const { maxAgeMs, secure } = req.query as { maxAgeMs: string; secure: string };
    return reply
      .setCookie(
        SESSION_COOKIE,
        "v",
        sessionCookieOptions({ maxAgeMs: Number(maxAgeMs), secure: secure === "1" }),
      )
      .send();
  });
  app.get("/flow", async (_req, reply) =>
    reply.setCookie("fleet_oidc", "f", flowCookieOptions({ maxAgeMs: 600_000, secure: true })).send(),
  );
  await app.ready();
});

afterAll(() => app.close());

/** The attributes of a Set-Cookie value, in a stable order. */
const attributes = (setCookie: unknown) => String(setCookie).split("; ").slice(1).sort();

describe("reading the session cookie", () => {
  it.each([
    ["fleet_session=abc", "abc"],
    ["theme=dark; fleet_session=abc; other=1", "abc"],
    ["xfleet_session=abc", null],
    ["fleet_session=", ""],
    ["fleet_session", null],
    [undefined, null],
  ])("does read %s as %s", async (header, value) => {
    const res = await app.inject({ url: "/read", headers: header === undefined ? {} : { cookie: header } });
    expect(res.json().value).toBe(value);
  });
});

describe("the session cookie", () => {
  it.each([
    [3_600_000, false, ["HttpOnly", "Max-Age=3600", "Path=/", "SameSite=Strict"]],
    [3_600_000, true, ["HttpOnly", "Max-Age=3600", "Path=/", "SameSite=Strict", "Secure"]],
    [0, false, ["HttpOnly", "Max-Age=0", "Path=/", "SameSite=Strict"]],
  ])("does write max age %i ms, secure %s as %o", async (maxAgeMs, secure, expected) => {
    const res = await app.inject({ url: `/session?maxAgeMs=${maxAgeMs}&secure=${secure ? 1 : 0}` });
    const cookie = String(res.headers["set-cookie"]);
    expect(cookie.startsWith("fleet_session=v; ")).toBe(true);
    expect(attributes(cookie)).toEqual(expected);
  });
});

describe("the single sign-on flow cookie", () => {
  it("does write a signed, Lax, callback-only cookie", async () => {
    const res = await app.inject({ url: "/flow" });
    const cookie = String(res.headers["set-cookie"]);
    // Signed: the value is followed by its HMAC.
    expect(cookie).toMatch(/^fleet_oidc=f\.[A-Za-z0-9+/=%_-]+; /);
    expect(attributes(cookie)).toEqual([
      "HttpOnly",
      "Max-Age=600",
      "Path=/api/v1/auth/oidc/callback",
      "SameSite=Lax",
      "Secure",
    ]);
  });

  it("does derive the signing key from the client secret, the same on every collector", () => {
    expect(cookieSigningKey(new Secret("a"))).toBe(cookieSigningKey(new Secret("a")));
    expect(cookieSigningKey(new Secret("a"))).not.toBe(cookieSigningKey(new Secret("b")));
    expect(cookieSigningKey(null)).not.toBe(cookieSigningKey(null));
  });
});
