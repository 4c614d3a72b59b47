/**
 * What every buffered writer of the collector shares (the ingest writer, the plan-limit writer):
 * callers queue and return at once; one batch at a time is written `flushIntervalMs` after the
 * first change; a failed batch stays queued and is retried with backoff; `flush()` resolves once
 * what was queued is written, `close()` retries until a deadline. A subclass keeps only what is its
 * own: what it queues (`pending`) and how one batch is written (`runOnce`, which sets `running`
 * and counts `failures` instead of throwing).
 */
import { backoffDelayMs } from "./backoff.ts";

export abstract class BufferedWriter {
  /** The batch being written, if any. */
  protected running: Promise<void> | null = null;
  /** Consecutive failed batches (0 after a success). */
  protected failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * `failedMessage`: what flush() throws while a batch fails. `keepAlive`: whether a pending write
   * keeps the process alive (the ingest writer's does: its data is the ledger).
   */
  constructor(
    private readonly failedMessage: string,
    private readonly keepAlive: boolean,
  ) {}

  /** Whether anything is queued (not counting the batch being written). */
  protected abstract pending(): boolean;
  /** Write one batch of what is queued; sets `running`; a failure is counted, not thrown. */
  protected abstract runOnce(): Promise<void>;

  /** Resolve once everything queued so far is written; throws as soon as a batch fails. */
  async flush(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      if (this.running) {
        await this.running;
        continue;
      }
      if (!this.pending()) return;
      await this.runOnce();
      if (this.failures > 0) throw new Error(this.failedMessage);
    }
  }

  /**
   * Write what is queued, then stop. A failed write is retried (every ≤ 1 s) until `timeoutMs`
   * has passed, so that a database back within a shutdown's grace period loses nothing; past it,
   * this throws with the data still queued.
   */
  async close(timeoutMs = 0): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    try {
      for (;;) {
        try {
          await this.flush();
          return;
        } catch (err) {
          const delay = backoffDelayMs(this.failures, { minBackoffMs: 100, maxBackoffMs: 1000 });
          if (performance.now() + delay >= deadline) throw err;
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    } finally {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
    }
  }

  /** Write a batch after `delayMs` (unless one is due already); then go on while anything is queued. */
  protected schedule(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running) {
        this.schedule(delayMs);
        return;
      }
      // A flush() may have written everything since this timer was set: no empty batch.
      if (!this.pending()) return;
      void this.runOnce().then(() => {
        if (this.pending()) this.schedule(this.failures > 0 ? this.retryDelay() : 0);
      });
    }, delayMs);
    if (!this.keepAlive) this.timer.unref();
  }

  /** The wait before retrying after `failures` failed batches. */
  protected retryDelay(): number {
    return backoffDelayMs(this.failures, { minBackoffMs: 200, maxBackoffMs: 10_000 });
  }
}
