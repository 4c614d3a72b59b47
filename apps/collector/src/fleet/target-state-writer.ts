/**
 * Target rows (connection state, last event, last contact) written in batches: the newest state of
 * each target per tick, one statement for all of them, one statement in flight at a time.
 *
 * Why (issue 12, measured with the cluster-live bench at 1,000 servers): written one query per
 * change, a reconnect storm or the every-minute "last contact" touch queued 1,000–2,700 queries on
 * the shared pool, and everything behind them — the replica's NOTIFY, API reads — waited up to
 * 1.1 s. Batched, the same storm is a few statements. Newest state wins; the statement itself only
 * moves last event and last contact forward, so a late batch never moves them back.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { type TargetStateRow, updateTargetStates } from "@codex-fleet/db/repositories/targets-repository";
import type { Logger } from "../logger.ts";

export class TargetStateWriter {
  private pending = new Map<string, TargetStateRow>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;

  constructor(
    private readonly opts: {
      pool: DbPool;
      log: Logger;
      /** Coalescing interval (default 20 ms). */
      tickMs?: number;
      /** Wait before retrying a failed batch (default 1 s). */
      retryMs?: number;
    },
  ) {}

  /** Persist this state of a target (soon, with whatever else changed meanwhile). */
  write(row: TargetStateRow): void {
    this.pending.set(row.id, row);
    this.schedule(this.opts.tickMs ?? 20);
  }

  /** Write everything pending now; rejects if the database refuses it. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running) await this.running.catch(() => {});
    if (this.pending.size > 0) await this.run();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // A flush may have started a batch meanwhile: its end schedules what is left.
      if (!this.running) void this.run().catch(() => {});
    }, delayMs);
    this.timer.unref();
  }

  private run(): Promise<void> {
    const rows = [...this.pending.values()];
    this.pending = new Map();
    const running = (async () => {
      try {
        await updateTargetStates({ pool: this.opts.pool, rows });
        if (this.failures > 0) this.opts.log.info({ failures: this.failures }, "target states written again");
        this.failures = 0;
      } catch (err) {
        // Put back what no newer state has replaced; retry later.
        for (const r of rows) if (!this.pending.has(r.id)) this.pending.set(r.id, r);
        if (this.failures++ === 0)
          this.opts.log.warn(
            { err: err instanceof Error ? err.message : String(err), targets: rows.length },
            "could not persist target states; retrying",
          );
        throw err;
      }
    })();
    this.running = running;
    void running
      .catch(() => "retry" as const)
      .then((outcome) => {
        this.running = null;
        if (this.pending.size > 0)
          this.schedule(outcome === "retry" ? (this.opts.retryMs ?? 1000) : (this.opts.tickMs ?? 20));
      });
    return running;
  }
}
