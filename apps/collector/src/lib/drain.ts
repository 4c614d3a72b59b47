/**
 * The two loops every buffered writer of the collector shares (the ingest writer, the plan-limit
 * writer): "write until nothing is queued" and "… retrying until a deadline", so that each writer
 * keeps only what is its own — what it queues and how one batch is written.
 */
import { backoffDelayMs } from "./backoff.ts";

/** What a buffered writer exposes to its loops. */
export interface Drainable {
  /** The batch being written, if any. */
  running(): Promise<void> | null;
  /** Whether anything is queued (not counting the running batch). */
  pending(): boolean;
  /** Write one batch of what is queued; a failure is counted in `failures`, not thrown. */
  runOnce(): Promise<void>;
  /** Consecutive failed batches. */
  failures(): number;
}

/**
 * Resolve once everything queued so far is written; throw (`message`) as soon as a batch fails,
 * with the data still queued.
 */
export async function drain(w: Drainable, message: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const running = w.running();
    if (running) {
      await running;
      continue;
    }
    if (!w.pending()) return;
    await w.runOnce();
    if (w.failures() > 0) throw new Error(message);
  }
}

/**
 * Drain, retrying a failed drain (every ≤ 1 s, with backoff) until `timeoutMs` has passed, so that
 * a database back within a shutdown's grace period loses nothing; past it, throws with the data
 * still queued.
 */
export async function drainWithin(w: Drainable, message: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await drain(w, message);
      return;
    } catch (err) {
      const delay = backoffDelayMs(w.failures(), { minBackoffMs: 100, maxBackoffMs: 1000 });
      if (performance.now() + delay >= deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
