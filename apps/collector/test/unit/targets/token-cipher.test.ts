import { describe, expect, it } from "vitest";
import { Secret } from "../../../src/config/secret.ts";
import { TokenCipher } from "../../../src/targets/token-cipher.ts";

const cipher = new TokenCipher(new Secret("ab".repeat(32)));
const token = new Secret("tok-0123456789abcdef");

describe("TokenCipher", () => {
  it("does round-trip a token with a fresh nonce every time, never storing it in clear", () => {
    const a = cipher.encrypt("alice", token);
    const b = cipher.encrypt("alice", token);
    expect(a).not.toBe(b);
    expect(a).not.toContain("tok-0123456789abcdef");
    expect(Buffer.from(a.split(":")[3] ?? "", "base64url").toString("utf8")).not.toContain("tok-");
    expect(cipher.decrypt("alice", a).reveal()).toBe("tok-0123456789abcdef");
    expect(String(cipher.decrypt("alice", b))).toBe("[redacted]");
  });

  it.each([
    ["another target's name", (s: string) => ["bob", s] as const],
    ["another key", (s: string) => ["alice", s] as const, new TokenCipher(new Secret("cd".repeat(32)))],
    [
      "a changed authentication tag",
      (s: string) =>
        ["alice", s.replace(/^(v1:[^:]+:)(.)/, (_, head, c) => `${head}${c === "A" ? "B" : "A"}`)] as const,
    ],
    [
      "a changed ciphertext",
      (s: string) =>
        ["alice", s.replace(/:(.)([^:]*)$/, (_, c, rest) => `:${c === "A" ? "B" : "A"}${rest}`)] as const,
    ],
    ["another version", (s: string) => ["alice", s.replace(/^v1:/, "v2:")] as const],
    ["a truncated value", (s: string) => ["alice", s.split(":").slice(0, 3).join(":")] as const],
  ])("does refuse to decrypt with %s", (_, change, other = cipher) => {
    const [name, stored] = change(cipher.encrypt("alice", token));
    expect(() => other.decrypt(name, stored)).toThrow();
  });

  it("does refuse a key that is not 32 bytes", () => {
    expect(() => new TokenCipher(new Secret("ab".repeat(16)))).toThrow("32 bytes");
  });
});
