import { describe, expect, it } from "vitest";
import { Credentials } from "../../../src/auth/credentials.ts";
import { Secret } from "../../../src/config/secret.ts";

describe("Credentials", () => {
  const both = new Credentials({
    admin: new Secret("admin-token-123456"),
    viewer: new Secret("viewer-token-123456"),
  });
  it.each([
    [both, "admin-token-123456", "admin"],
    [both, "viewer-token-123456", "viewer"],
    [both, "admin-token-12345", null],
    [both, "admin-token-1234567", null],
    [both, "", null],
    [new Credentials({ admin: new Secret("admin-token-123456"), viewer: null }), "viewer-token-123456", null],
    [new Credentials({ admin: null, viewer: null }), "", null],
  ])("does give %# the role %s → %s", (credentials, presented, role) => {
    expect(credentials.roleOf(presented)).toBe(role);
  });
});
