import { describe, expect, it } from "vitest";
import { type Access, requiredAccess } from "../../../src/auth/policy.ts";

describe("requiredAccess", () => {
  it.each<[string, string, Access]>([
    ["GET", "/healthz", "open"],
    ["GET", "/readyz", "open"],
    ["GET", "/", "open"],
    ["GET", "/assets/index.js", "open"],
    ["POST", "/api/v1/auth/login", "open"],
    ["POST", "/api/v1/auth/logout", "open"],
    ["GET", "/api/v1/auth/me", "open"],
    ["GET", "/metrics", "viewer"],
    ["GET", "/api/v1/live", "viewer"],
    ["GET", "/api/v1/targets", "viewer"],
    ["HEAD", "/api/v1/usage", "viewer"],
    ["GET", "/api/v1/no-such-route", "viewer"],
    ["POST", "/api/v1/alerts/:id/ack", "viewer"],
    ["POST", "/api/v1/silences", "admin"],
    ["DELETE", "/api/v1/silences/:id", "admin"],
    ["POST", "/api/v1/targets", "admin"],
    ["PUT", "/api/v1/targets/:name", "admin"],
    ["DELETE", "/api/v1/targets/:name", "admin"],
    ["PATCH", "/api/v1/anything-new", "admin"],
    ["post", "/api/v1/alerts/:id/ack", "viewer"],
    // Issue 17: the API keys and the audit log are read by admins only.
    ["GET", "/api/v1/keys", "admin"],
    ["HEAD", "/api/v1/keys", "admin"],
    ["POST", "/api/v1/keys", "admin"],
    ["DELETE", "/api/v1/keys/:id", "admin"],
    ["GET", "/api/v1/audit", "admin"],
    ["HEAD", "/api/v1/audit", "admin"],
  ])("does require %s %s → %s", (method, route, access) => {
    expect(requiredAccess(method, route)).toBe(access);
  });
});
