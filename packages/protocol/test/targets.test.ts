import { describe, expect, it } from "vitest";
import {
  insecureTokenProblem,
  isLoopbackHost,
  TargetCreateRequestSchema,
  TargetNameSchema,
  targetUrlSchema,
} from "../src/targets.ts";

describe("TargetNameSchema", () => {
  it.each([
    ["alice", true],
    ["bob.dev_2-x", true],
    ["x".repeat(100), true],
    ["x".repeat(101), false],
    ["", false],
    ["al ice", false],
    ["a/b", false],
  ])("does judge %j valid: %s", (name, valid) => {
    expect(TargetNameSchema.safeParse(name).success).toBe(valid);
  });
});

describe("targetUrlSchema", () => {
  const url = targetUrlSchema("use tokenFile");
  it.each([
    ["ws://127.0.0.1:4500", null],
    ["wss://dev.example.com", null],
    ["http://h:1", "must be a ws:// or wss:// URL"],
    ["not a url", "must be a ws:// or wss:// URL"],
    ["wss://u:p@h:1", "must not contain credentials: use tokenFile"],
  ])("does judge %j", (value, message) => {
    const result = url.safeParse(value);
    expect(result.success ? null : result.error.issues[0]?.message).toBe(message);
  });
});

describe("insecureTokenProblem (DESIGN.md rule 7)", () => {
  it.each([
    { url: "ws://10.0.0.5:4500", hasToken: true, allowInsecure: false, refused: true },
    { url: "ws://10.0.0.5:4500", hasToken: true, allowInsecure: true, refused: false },
    { url: "ws://10.0.0.5:4500", hasToken: false, allowInsecure: false, refused: false },
    { url: "wss://10.0.0.5:4500", hasToken: true, allowInsecure: false, refused: false },
    { url: "ws://localhost:4500", hasToken: true, allowInsecure: false, refused: false },
    { url: "ws://127.1.2.3:4500", hasToken: true, allowInsecure: false, refused: false },
    { url: "ws://[::1]:4500", hasToken: true, allowInsecure: false, refused: false },
  ])("does refuse $url with a token: $refused (allowInsecure $allowInsecure, token $hasToken)", (t) => {
    const problem = insecureTokenProblem(t);
    expect(problem !== null).toBe(t.refused);
    if (problem !== null) expect(problem).toContain("non-loopback host 10.0.0.5");
  });

  it("does treat localhost, 127/8 and ::1 as loopback and nothing else", () => {
    expect(["localhost", "a.localhost", "127.0.0.1", "[::1]", "::1"].every(isLoopbackHost)).toBe(true);
    expect(["10.0.0.1", "example.com", "127.example.com", "0.0.0.0"].some(isLoopbackHost)).toBe(false);
  });
});

describe("TargetCreateRequestSchema", () => {
  it("does apply the defaults and trim the token", () => {
    expect(TargetCreateRequestSchema.parse({ name: "n", url: "ws://h:1", token: " t " })).toEqual({
      name: "n",
      url: "ws://h:1",
      team: "",
      labels: {},
      allowInsecure: false,
      token: "t",
    });
  });
});
