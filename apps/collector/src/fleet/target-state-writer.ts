/**
 * Target rows (connection state, last event, last contact) written in batches: the newest state of
 * each target per tick, one statement for all of them, one statement in flight at a time (the
 * queue, flush and retry loops are the collector's shared BufferedWriter).
 *
 * Why (issue 12, measured with the cluster-live bench at 1,000 servers): written one query per
 * change, a reconnect storm or the every-minute "last contact" touch queued 1,000–2,700 queries on
 * the shared pool, and everything behind them — the replica's NOTIFY, API reads — waited up to
 * 1.1 s. Batched, the same storm is a few statements. Newest state wins; the statement itself only
 * moves last event and last contact forward, so a late batch never moves them back.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { type TargetStateRow, updateTargetStates } from "@codex-fleet/db/repositories/targets-repository";
import { BufferedWriter } from "../lib/drain.ts";
import type { Logger } from "../logger.ts";

export class TargetStateWriter extends BufferedWriter {
  private queued = new Map<string, TargetStateRow>();

  constructor(
    private readonly opts: {
      pool: DbPool;
      log: Logger;
      /** Coalescing interval (default 20 ms). */
      tickMs?: number;
    },
  ) {
    super("could not persist target states; still queued", false);
  }

  /** Persist this state of a target (soon, with whatever else changed meanwhile). */
  write(row: TargetStateRow): void {
    this.queued.set(row.id, row);
    this.schedule(this.opts.tickMs ?? 20);
  }

  protected pending(): boolean {
    return this.queued.size > 0;
  }

  protected runOnce(): Promise<void> {
    const rows = [...this.queued.values()];
    this.queued = new Map();
    const run = (async () => {
      try {
        await updateTargetStates({ pool: this.opts.pool, rows });
        if (this.failures > 0) this.opts.log.info({ failures: this.failures }, "target states written again");
        this.failures = 0;
      } catch (err) {
        // Put back what no newer state has replaced; the shared loop retries with backoff.
        for (const r of rows) if (!this.queued.has(r.id)) this.queued.set(r.id, r);
        if (this.failures++ === 0)
          this.opts.log.warn(
            { err: err instanceof Error ? err.message : String(err), targets: rows.length },
            "could not persist target states; retrying",
          );
      }
    })();
    this.running = run.finally(() => {
      this.running = null;
    });
    return this.running;
  }
}
