import { describe, expect, it } from "vitest";
import { readCookie, sessionCookie } from "../../../src/auth/cookies.ts";

describe("readCookie", () => {
  it.each([
    ["fleet_session=abc", "abc"],
    ["theme=dark; fleet_session=abc; other=1", "abc"],
    ["xfleet_session=abc", null],
    ["fleet_session=", null],
    ["fleet_session", null],
    [undefined, null],
  ])("does read %s as %s", (header, value) => {
    expect(readCookie(header, "fleet_session")).toBe(value);
  });
});

describe("sessionCookie", () => {
  it.each([
    [
      { maxAgeMs: 3_600_000, secure: false },
      "fleet_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600",
    ],
    [
      { maxAgeMs: 3_600_000, secure: true },
      "fleet_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure",
    ],
    [{ maxAgeMs: 0, secure: false }, "fleet_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"],
  ])("does write %o", (opts, expected) => {
    expect(sessionCookie("v", opts)).toBe(expected);
  });
});
