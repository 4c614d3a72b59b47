/**
 * Retention (issue 13): every `pruneIntervalMs` (first a minute after start) one instance of the
 * cluster — whoever takes the advisory lock — deletes detail older than `detailDays` and hourly
 * rollups older than `hourlyDays` (and audit events older than `audit.retentionDays`), in batches with a pause between them, so that ingest never
 * waits behind it. Rules and tables: packages/db/src/repositories/retention.ts.
 */
import type { DbPool } from "@codex-fleet/db/client";
import {
  PRUNE_RULES,
  pruneBatch,
  type Queryable,
  withRetentionLock,
} from "@codex-fleet/db/repositories/retention";
import type { Config } from "./config/schema.ts";
import type { Logger } from "./logger.ts";

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  pool: DbPool;
  retention: Config["retention"];
  /** `audit.retentionDays` (default 400): how long audit events are kept. */
  auditDays?: number;
  log: Pick<Logger, "info" | "debug" | "warn">;
  now?: () => number;
  /** Rows per delete statement (default 5000). */
  batchRows?: number;
  /** Pause between two batches (default 50 ms): the prune takes at most about a third of one database backend. */
  pauseMs?: number;
  /** Delay before the first run (default 60 s). */
  firstRunMs?: number;
  /** Each table's rows deleted (metrics). */
  onDeleted?(table: string, rows: number): void;
  /**
   * The only instance on its database (embedded PGlite: one connection): no lock, and each batch
   * takes the connection only for itself, so ingest goes on between batches.
   */
  alone?: boolean;
}

export interface PruneReport {
  /** Rows deleted per table in this run. */
  deleted: Record<string, number>;
  ms: number;
}

/** Prunes on a timer; `runOnce` for tests and the bench. */
export class RetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<PruneReport | null> | null = null;
  /** When the last run that held the lock finished (null: none yet). */
  lastRunAtMs: number | null = null;
  lastRunMs: number | null = null;

  constructor(private readonly opts: RetentionOptions) {}

  start(): void {
    this.schedule(this.opts.firstRunMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => null);
  }

  /** One run now (null when another instance holds the lock, or stopped). */
  runOnce(): Promise<PruneReport | null> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce()
        .catch((err: unknown) =>
          this.opts.log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "retention: prune failed",
          ),
        )
        .finally(() => this.schedule(this.opts.retention.pruneIntervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async run(): Promise<PruneReport | null> {
    const { pool, retention, log } = this.opts;
    const now = (this.opts.now ?? Date.now)();
    const limit = this.opts.batchRows ?? 5000;
    const pauseMs = this.opts.pauseMs ?? 50;
    const started = performance.now();
    const prune = async (client: Queryable) => {
      const deleted: Record<string, number> = {};
      for (const rule of PRUNE_RULES) {
        const days =
          rule.keep === "detail"
            ? retention.detailDays
            : rule.keep === "hourly"
              ? retention.hourlyDays
              : (this.opts.auditDays ?? 400);
        const cutoffMs = now - days * DAY_MS;
        let total = 0;
        for (;;) {
          if (this.stopped) break;
          const n = await pruneBatch({ client, rule, cutoffMs, limit });
          total += n;
          if (n > 0) this.opts.onDeleted?.(rule.table, n);
          if (n < limit) break;
          // A long backlog (the first run on a large database) says how far it got.
          if (total % (limit * 100) === 0)
            log.info({ table: rule.table, deleted: total }, "retention: pruning, still going");
          await new Promise((r) => setTimeout(r, pauseMs));
        }
        deleted[rule.table] = total;
      }
      return { deleted, ms: Math.round(performance.now() - started) };
    };
    const report = await withRetentionLock(pool, prune, { alone: this.opts.alone ?? false });
    if (report) {
      this.lastRunAtMs = (this.opts.now ?? Date.now)();
      this.lastRunMs = report.ms;
      const any = Object.values(report.deleted).some((n) => n > 0);
      log[any ? "info" : "debug"](
        {
          deleted: report.deleted,
          ms: report.ms,
          detailDays: retention.detailDays,
          hourlyDays: retention.hourlyDays,
          auditDays: this.opts.auditDays ?? 400,
        },
        "retention: pruned",
      );
    }
    return report;
  }
}
