/**
 * The activity fold (issue 15's query speed; packages/db/src/repositories/activity-fold.ts): every
 * `intervalMs` one instance of the cluster — whoever takes the advisory lock — moves the pending
 * changes of activity_daily_target into the per-team and per-span grains. Readers add what is still
 * pending, so the fold's cadence bounds how many rows a request reads, never what it answers.
 * The usage fold (issue 13, migration 20261207100000_usage_fold) runs on the same timer, after it.
 */
import type { DbPool } from "@codex-fleet/db/client";
import { foldActivity } from "@codex-fleet/db/repositories/activity-fold";
import { foldUsage } from "@codex-fleet/db/repositories/usage-fold";
import type { Logger } from "./logger.ts";

export interface ActivityFoldOptions {
  pool: DbPool;
  log: Pick<Logger, "debug" | "warn">;
  /** Between two folds, and before the first (default 5 s). */
  intervalMs?: number;
}

/** Folds on a timer; `runOnce` for tests and the bench. */
export class ActivityFoldJob {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<number | null> | null = null;

  constructor(private readonly opts: ActivityFoldOptions) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => null);
  }

  /** One fold now: the pending activity rows moved (null when another instance is folding), then usage's. */
  runOnce(): Promise<number | null> {
    this.running ??= foldActivity(this.opts.pool)
      .then(async (moved) => {
        await foldUsage(this.opts.pool);
        return moved;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce()
        .then((moved) => {
          if (moved) this.opts.log.debug({ moved }, "activity: folded");
        })
        .catch((err: unknown) =>
          this.opts.log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "activity: fold failed",
          ),
        )
        .finally(() => this.schedule());
    }, this.opts.intervalMs ?? 5000);
    this.timer.unref();
  }
}
