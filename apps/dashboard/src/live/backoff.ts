/** Reconnect delays: exponential growth, capped, with fresh jitter on every attempt. */

/** Knobs of the live-feed reconnect loop; every one has a default in DEFAULT_BACKOFF. */
export type BackoffOptions = {
  /** Delay before the first retry (before jitter). */
  minDelayMs: number;
  /** Ceiling for any delay. */
  maxDelayMs: number;
  /** Multiplier per failed attempt. */
  growth: number;
  /** Fraction in [0, 1] of the delay that is randomised away (0 = none, 1 = "full jitter"). */
  jitter: number;
};

export const DEFAULT_BACKOFF: BackoffOptions = {
  minDelayMs: 1000,
  maxDelayMs: 30_000,
  growth: 2,
  jitter: 0.5,
};

/**
 * Delay before retry number `attempt` (0-based): base = min(max, min·growth^attempt), then a
 * random share of up to `jitter·base` is taken off so that many dashboards reconnecting after a
 * collector restart spread out instead of arriving together.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxDelayMs, options.minDelayMs * options.growth ** Math.max(0, attempt));
  const jitter = Math.min(1, Math.max(0, options.jitter));
  return Math.round(base * (1 - jitter * random()));
}
