import { describe, expect, it } from "vitest";
import {
  formatDuration,
  formatPct,
  formatRelative,
  formatTokens,
  formatUsd,
  ratio,
} from "../../../src/lib/format.ts";

describe("formatTokens", () => {
  it.each([
    [0, "0"],
    [999, "999"],
    [1_000, "1k"],
    [1_234, "1.2k"],
    [99_960, "100k"],
    [999_499, "999k"],
    [999_950, "1M"],
    [1_234_567, "1.2M"],
    [12_345_678, "12.3M"],
    [123_456_789, "123M"],
    [4_200_000_000, "4.2B"],
    [null, "—"],
    [Number.NaN, "—"],
  ])("does print %s as %s", (value, expected) => {
    expect(formatTokens(value)).toBe(expected);
  });
});

describe("formatUsd", () => {
  it.each([
    [0, "$0.00"],
    [12.345, "$12.35"],
    [1234.5, "$1,234.50"],
    [0.004, "$0.004"],
    [0.00043, "$0.0004"],
    [250_000, "$250k"],
    [null, "—"],
  ])("does print %s as %s", (value, expected) => {
    expect(formatUsd(value)).toBe(expected);
  });
});

describe("formatDuration", () => {
  it.each([
    [850, "850ms"],
    [4_000, "4s"],
    [192_000, "3m 12s"],
    [180_000, "3m"],
    [3_900_000, "1h 5m"],
    [7_200_000, "2h"],
    [90_000_000, "1d 1h"],
    [-5, "0ms"],
    [null, "—"],
  ])("does print %s ms as %s", (value, expected) => {
    expect(formatDuration(value)).toBe(expected);
  });
});

describe("formatRelative", () => {
  const now = Date.parse("2026-11-21T14:30:00Z");
  it.each([
    ["2026-11-21T14:29:58Z", "just now"],
    ["2026-11-21T14:25:00Z", "5m ago"],
    ["2026-11-21T12:10:00Z", "2h ago"],
    ["2026-11-19T14:30:00Z", "2d ago"],
    ["2026-11-21T14:33:00Z", "in 3m"],
    [null, "—"],
    ["not a date", "—"],
  ])("does print %s as %s", (value, expected) => {
    expect(formatRelative(value, now)).toBe(expected);
  });
});

describe("formatPct and ratio", () => {
  it.each([
    [ratio(1, 4), "25%"],
    [ratio(1, 3), "33.3%"],
    [ratio(1, 0), "—"],
    [ratio(0, 10), "0%"],
    [0.0004, "<0.1%"],
  ])("does print %s as %s", (value, expected) => {
    expect(formatPct(value)).toBe(expected);
  });
});
