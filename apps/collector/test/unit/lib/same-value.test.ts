import { describe, expect, it } from "vitest";
import { sameValue } from "../../../src/lib/same-value.ts";

const T0 = 1_800_000_000_000;
const RESET = T0 + 3 * 3_600_000;

describe("sameValue", () => {
  const state = {
    limitId: "codex",
    planType: "pro",
    primary: { usedPercent: 40, resetsAtMs: RESET, observedAtMs: T0 },
    credits: null,
    observedAtMs: T0,
  };
  it.each([
    [
      "times only, at any depth",
      { ...state, observedAtMs: 1, primary: { ...state.primary, observedAtMs: 2 } },
      true,
    ],
    ["a nested field", { ...state, primary: { ...state.primary, usedPercent: 41 } }, false],
    ["a field", { ...state, planType: "plus" }, false],
    ["null against a value", { ...state, credits: { balance: "5", observedAtMs: T0 } }, false],
    ["a field more", { ...state, limitName: null }, false],
    ["a field less", { limitId: "codex", planType: "pro", primary: state.primary, observedAtMs: T0 }, false],
    ["an array for an object", { ...state, primary: [40, RESET, T0] }, false],
    ["no time at all", { limitId: "codex", planType: "pro", primary: state.primary, credits: null }, true],
    [
      "no time, and a field more",
      { limitId: "codex", planType: "pro", primary: state.primary, credits: null, limitName: "x" },
      false,
    ],
  ])("tells a change of %s (same: %s)", (_, other, same) => {
    expect(sameValue(state, other, "observedAtMs")).toBe(same);
    expect(sameValue(other, state, "observedAtMs")).toBe(same);
  });
  it("compares arrays by element, and every key when none is ignored", () => {
    expect(sameValue([1, { a: [2] }], [1, { a: [2] }])).toBe(true);
    expect(sameValue([1, 2], [1, 2, 3])).toBe(false);
    expect(sameValue([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(sameValue(state, { ...state, observedAtMs: 1 })).toBe(false);
    expect(sameValue(null, {})).toBe(false);
  });
});
