/** A small sliding-window rate limiter keyed by client address (login attempts, bad bearer tokens). */

export interface RateLimitOptions {
  max: number;
  windowMs: number;
  /** Most distinct keys remembered; the least recently seen goes first (default 10 000). */
  maxKeys?: number;
  now?: () => number;
}

/** `ok` or how long to wait before the next attempt is allowed. */
export type RateLimitResult = { ok: true } | { ok: false; retryAfterMs: number };

/** Counts attempts per key within the last `windowMs`; the `max + 1`-th is refused. */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly opts: RateLimitOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Record an attempt by `key` and say whether it may proceed. Refused attempts are not counted. */
  hit(key: string): RateLimitResult {
    const at = this.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => t > at - this.opts.windowMs);
    this.hits.delete(key); // re-inserted below: Map order = least recently seen first
    if (recent.length >= this.opts.max) {
      this.hits.set(key, recent);
      return { ok: false, retryAfterMs: (recent[0] ?? at) + this.opts.windowMs - at };
    }
    recent.push(at);
    this.hits.set(key, recent);
    const maxKeys = this.opts.maxKeys ?? 10_000;
    while (this.hits.size > maxKeys) {
      const oldest = this.hits.keys().next().value;
      if (oldest === undefined) break;
      this.hits.delete(oldest);
    }
    return { ok: true };
  }
}
