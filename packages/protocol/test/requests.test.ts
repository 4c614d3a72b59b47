import { describe, expect, it } from "vitest";
import { AlertAckRequestSchema, SilenceCreateSchema, timeToMs } from "../src/api.ts";
import { LoginRequestSchema } from "../src/auth.ts";

const ISO = "2026-11-21T12:00:00.000Z";
const MS = Date.parse(ISO);

describe("timeToMs", () => {
  it.each([
    { value: ISO, expected: MS },
    { value: MS, expected: MS },
    { value: String(MS), expected: MS },
    { value: "2026-11-21", expected: Date.parse("2026-11-21") },
    { value: "soon", expected: Number.NaN },
  ])("does read $value as $expected", ({ value, expected }) => {
    expect(timeToMs(value)).toBe(expected);
  });
});

describe("SilenceCreateSchema", () => {
  const body = { matchers: { ruleId: "approval-wait" }, createdBy: "ops" };

  it.each([
    { endsAt: ISO, what: "an ISO time" },
    { endsAt: MS, what: "epoch ms" },
    { endsAt: String(MS), what: "epoch ms as text" },
  ])("does accept $what as endsAt and give epoch ms, with an empty comment by default", ({ endsAt }) => {
    expect(SilenceCreateSchema.parse({ ...body, endsAt })).toEqual({ ...body, endsAt: MS, comment: "" });
  });

  it.each([
    [{ ...body, endsAt: "soon" }, ["endsAt"], "must be an ISO 8601 time or epoch milliseconds"],
    [{ ...body, endsAt: ISO, matchers: {} }, ["matchers"], "must name at least one of"],
    [{ ...body, endsAt: ISO, matchers: { ruleId: " " } }, ["matchers", "ruleId"], "must not be empty"],
    [{ ...body, endsAt: ISO, createdBy: "x".repeat(201) }, ["createdBy"], "at most 200 characters"],
    [{ ...body, endsAt: ISO, comment: "x".repeat(1001) }, ["comment"], "at most 1000 characters"],
  ])("does refuse %j at %j", (input, path, message) => {
    const result = SilenceCreateSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(path);
    expect(result.error?.issues[0]?.message).toContain(message);
  });

  it("does refuse unknown fields, in the body and in the matchers", () => {
    for (const input of [
      { ...body, endsAt: ISO, note: "x" },
      { ...body, endsAt: ISO, matchers: { host: "a" } },
    ])
      expect(SilenceCreateSchema.safeParse(input).error?.issues[0]?.code).toBe("unrecognized_keys");
  });
});

describe("AlertAckRequestSchema and LoginRequestSchema", () => {
  it("does trim what people type and refuse it empty", () => {
    expect(AlertAckRequestSchema.parse({ by: " ops " })).toEqual({ by: "ops" });
    expect(AlertAckRequestSchema.safeParse({ by: " " }).success).toBe(false);
    expect(LoginRequestSchema.parse({ token: " t0k3n\n" })).toEqual({ token: "t0k3n" });
    expect(LoginRequestSchema.safeParse({ token: "" }).success).toBe(false);
    expect(LoginRequestSchema.safeParse({ token: "t", remember: true }).success).toBe(false);
  });
});
