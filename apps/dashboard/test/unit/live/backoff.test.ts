import { describe, expect, it } from "vitest";
import { backoffDelayMs, DEFAULT_BACKOFF } from "../../../src/live/backoff.ts";

const options = { minDelayMs: 1000, maxDelayMs: 30_000, growth: 2, jitter: 0.5 };

describe("backoffDelayMs", () => {
  it.each([
    { attempt: 0, random: 0, expected: 1000 },
    { attempt: 1, random: 0, expected: 2000 },
    { attempt: 3, random: 0, expected: 8000 },
    { attempt: 5, random: 0, expected: 30_000 },
    { attempt: 50, random: 0, expected: 30_000 },
    { attempt: 0, random: 1, expected: 500 },
    { attempt: 2, random: 0.5, expected: 3000 },
    { attempt: 50, random: 0.999, expected: 15_015 },
  ])("does $expected ms when attempt=$attempt and random=$random", ({ attempt, random, expected }) => {
    expect(backoffDelayMs(attempt, options, () => random)).toBe(expected);
  });

  it("does stay within [base·(1−jitter), base] when random varies", () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const base = Math.min(30_000, 1000 * 2 ** attempt);
      for (const random of [0, 0.25, 0.5, 0.75, 0.9999]) {
        const delay = backoffDelayMs(attempt, DEFAULT_BACKOFF, () => random);
        expect(delay).toBeGreaterThanOrEqual(base * 0.5);
        expect(delay).toBeLessThanOrEqual(base);
      }
    }
  });
});
