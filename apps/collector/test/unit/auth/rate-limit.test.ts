import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../src/auth/rate-limit.ts";

describe("RateLimiter", () => {
  it("does refuse the attempt after max within the window and say when to retry", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ max: 3, windowMs: 60_000, now: () => now });
    expect([limiter.hit("a"), limiter.hit("a"), limiter.hit("a")]).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
    ]);
    now += 10_000;
    expect(limiter.hit("a")).toEqual({ ok: false, retryAfterMs: 50_000 });
    expect(limiter.hit("b")).toEqual({ ok: true });
    now += 50_000; // the first three leave the window
    expect(limiter.hit("a")).toEqual({ ok: true });
  });

  it("does not count refused attempts (waiting out the window always works)", () => {
    let now = 0;
    const limiter = new RateLimiter({ max: 1, windowMs: 1000, now: () => now });
    limiter.hit("a");
    for (let i = 0; i < 5; i++) {
      now += 100;
      expect(limiter.hit("a").ok).toBe(false);
    }
    now = 1000;
    expect(limiter.hit("a").ok).toBe(true);
  });

  it("does forget the least recently seen key beyond maxKeys", () => {
    const limiter = new RateLimiter({ max: 1, windowMs: 1000, maxKeys: 2, now: () => 0 });
    limiter.hit("a");
    limiter.hit("b");
    limiter.hit("c"); // evicts a
    expect(limiter.hit("a").ok).toBe(true);
    expect(limiter.hit("c").ok).toBe(false);
  });
});
