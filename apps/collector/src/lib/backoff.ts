/** Reconnect delays: exponential growth, capped, with fresh jitter on every attempt. */

export interface BackoffOptions {
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Growth per attempt (default 2). */
  factor?: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): "equal jitter", half fixed and half random,
 * so that a fleet of collectors restarted together spreads out but never retries instantly.
 */
export function backoffDelayMs(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const factor = opts.factor ?? 2;
  const ceiling = Math.min(opts.maxBackoffMs, opts.minBackoffMs * factor ** Math.min(attempt, 30));
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}
