import { describe, expect, it } from "vitest";
import {
  claimValues,
  decodeFlow,
  encodeFlow,
  personFromClaims,
  roleFromClaims,
} from "../../../src/auth/oidc.ts";

const MAP = {
  roleClaim: "groups",
  roleMap: { adminValues: ["fleet-admins"], viewerValues: ["fleet-viewers", "eng"] },
};

describe("roleFromClaims", () => {
  it.each([
    [{ groups: ["fleet-admins"] }, null, "admin"],
    [{ groups: ["eng", "fleet-admins"] }, null, "admin"],
    [{ groups: ["eng"] }, null, "viewer"],
    [{ groups: "fleet-viewers" }, null, "viewer"],
    [{ groups: ["Fleet-Admins"] }, null, null],
    [{ groups: ["contractors"] }, null, null],
    [{ groups: ["contractors"] }, "viewer", "viewer"],
    [{}, null, null],
    [{}, "viewer", "viewer"],
    [{ groups: [1, { x: 1 }, "fleet-admins"] }, null, "admin"],
    [{ groups: 42 }, null, null],
  ] as const)("does map %o (default %s) to %s", (claims, defaultRole, role) => {
    expect(roleFromClaims(claims, { ...MAP, defaultRole }).role).toBe(role);
  });
});

describe("claimValues", () => {
  it.each([
    [{ groups: ["a", "b"] }, "groups", ["a", "b"]],
    [{ realm_access: { roles: ["r"] } }, "realm_access.roles", ["r"]],
    [{ "https://example.com/roles": ["x"] }, "https://example.com/roles", ["x"]],
    [{ a: null }, "a.b", []],
    [{}, "groups", []],
  ])("does read %o at %s as %o", (claims, name, values) => {
    expect(claimValues(claims, name)).toEqual(values);
  });
});

describe("personFromClaims", () => {
  it.each([
    [
      { sub: "s", name: " Alice ", email: "a@x" },
      { subject: "s", name: "Alice", email: "a@x" },
    ],
    [
      { sub: "s", preferred_username: "alice" },
      { subject: "s", name: "alice", email: null },
    ],
    [
      { sub: "s", email: "a@x" },
      { subject: "s", name: "a@x", email: "a@x" },
    ],
    [
      { sub: "s", name: "" },
      { subject: "s", name: "s", email: null },
    ],
    [
      { sub: "s", name: "n".repeat(300) },
      { subject: "s", name: "n".repeat(200), email: null },
    ],
  ])("does read %o as %o", (claims, person) => {
    expect(personFromClaims(claims)).toEqual(person);
  });
});

describe("the flow cookie's value", () => {
  it("does round-trip a flow and refuse anything else", () => {
    const flow = { state: "s", nonce: "n", verifier: "v", atMs: 1 };
    expect(decodeFlow(encodeFlow(flow))).toEqual(flow);
    for (const bad of ["", "not base64 json", Buffer.from('{"state":1}').toString("base64url"), "bnVsbA"])
      expect(decodeFlow(bad)).toBeNull();
  });
});
