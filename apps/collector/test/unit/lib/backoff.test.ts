import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../../../src/lib/backoff.ts";

/** A random source that hands out the given values in turn (then repeats the last one). */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

const opts = { minBackoffMs: 1000, maxBackoffMs: 60_000 };

describe("backoffDelayMs", () => {
  it.each([
    // attempt, factor, random, expected: equal jitter = ceiling/2 + random·ceiling/2
    { attempt: 0, factor: undefined, random: 0, want: 500 },
    { attempt: 0, factor: undefined, random: 1, want: 1000 },
    { attempt: 1, factor: undefined, random: 1, want: 2000 },
    { attempt: 2, factor: undefined, random: 1, want: 4000 },
    { attempt: 3, factor: undefined, random: 0.5, want: 6000 },
    { attempt: 2, factor: 3, random: 1, want: 9000 },
    { attempt: 3, factor: 1.5, random: 0, want: 1688 },
  ])(
    "does grow by the factor when attempt=$attempt factor=$factor random=$random",
    ({ attempt, factor, random, want }) => {
      expect(backoffDelayMs(attempt, { ...opts, ...(factor ? { factor } : {}) }, () => random)).toBe(want);
    },
  );

  it.each([
    { attempt: 5, random: 1, want: 32_000 },
    { attempt: 6, random: 1, want: 60_000 },
    { attempt: 7, random: 1, want: 60_000 },
    { attempt: 6, random: 0, want: 30_000 },
    { attempt: 20, random: 0.5, want: 45_000 },
  ])(
    "does cap the ceiling at maxBackoffMs when attempt=$attempt random=$random",
    ({ attempt, random, want }) => {
      expect(backoffDelayMs(attempt, opts, () => random)).toBe(want);
    },
  );

  it("does stay within [ceiling/2, ceiling] when random spans [0, 1)", () => {
    const randoms = [0, 1e-9, 0.25, 0.5, 0.75, 0.999999];
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(opts.maxBackoffMs, opts.minBackoffMs * 2 ** attempt);
      for (const r of randoms) {
        const d = backoffDelayMs(attempt, opts, () => r);
        expect(d, `attempt ${attempt} random ${r}`).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d, `attempt ${attempt} random ${r}`).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it("does draw fresh jitter on every attempt when the random source changes", () => {
    const random = sequence(0, 1, 0.5, 0);
    const delays = [0, 0, 0, 0].map((attempt) => backoffDelayMs(attempt, opts, random));
    expect(delays).toEqual([500, 1000, 750, 500]);
  });

  it("does call the random source exactly once per delay", () => {
    let calls = 0;
    const random = () => {
      calls++;
      return 0.3;
    };
    for (let attempt = 0; attempt < 5; attempt++) backoffDelayMs(attempt, opts, random);
    expect(calls).toBe(5);
  });

  it.each([31, 100, 1024, 1e6, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY])(
    "does return a finite capped delay when attempt=%s",
    (attempt) => {
      for (const r of [0, 0.5, 0.999]) {
        const d = backoffDelayMs(attempt, { minBackoffMs: 250, maxBackoffMs: 30_000 }, () => r);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(15_000);
        expect(d).toBeLessThanOrEqual(30_000);
      }
    },
  );

  it("does keep min as the only delay when min equals max", () => {
    for (const attempt of [0, 1, 10]) {
      expect(backoffDelayMs(attempt, { minBackoffMs: 400, maxBackoffMs: 400 }, () => 1)).toBe(400);
    }
  });

  it("does use Math.random when no source is injected", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(backoffDelayMs(10, opts));
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(30_000);
      expect(d).toBeLessThanOrEqual(60_000);
    }
    // 50 draws over a 30 s wide range: a constant would mean jitter is fixed, not drawn.
    expect(seen.size).toBeGreaterThan(1);
  });
});
