/**
 * Re-pricing (issue 14): when the configured price overrides differ from the set last applied to
 * history, the affected usage rows are priced again in the background — small batches, one
 * transaction each, exactly once per row (packages/db/src/repositories/repricing-repository.ts),
 * one instance of the cluster at a time (advisory lock, like retention.ts).
 */
import { createHash } from "node:crypto";
import type { DbPool } from "@codex-fleet/db/client";
import type { PriceFn } from "@codex-fleet/db/repositories/ingest-types";
import {
  type RepricingJob,
  readLatestRepricing,
  repriceBatch,
  scheduleRepricing,
  withRepricingLock,
} from "@codex-fleet/db/repositories/repricing-repository";
import {
  changedOverrideModels,
  overridesFingerprint,
  type PriceOverride,
  PriceOverrideSchema,
} from "@codex-fleet/pricing";
import { z } from "zod";
import type { Logger } from "./logger.ts";

export interface RepricingOptions {
  pool: DbPool;
  overrides: readonly PriceOverride[];
  /** Prices a row as new usage would be priced now (the collector's pricer). */
  price: PriceFn;
  log: Pick<Logger, "info" | "warn" | "debug">;
  now?: () => number;
  /** Rows per batch (default 500). */
  batchRows?: number;
  /** Pause between two batches (default 50 ms), so that ingest never waits behind the job. */
  pauseMs?: number;
  /** Embedded PGlite: the only instance on one connection, no lock. */
  alone?: boolean;
}

/** The hash stored with the applied set: sha256 of its canonical form (pricing overridesFingerprint). */
export function fingerprintOf(overrides: readonly PriceOverride[]): string {
  return createHash("sha256").update(overridesFingerprint(overrides)).digest("hex");
}

/** A stored override set as pricing reads it; one that no longer parses counts as empty (all re-priced). */
function parseApplied(stored: unknown): PriceOverride[] {
  const parsed = z.array(PriceOverrideSchema).safeParse(stored);
  return parsed.success ? parsed.data : [];
}

/** Schedules at start and works through the running job in the background. */
export class Repricing {
  private stopped = false;
  private running: Promise<void> | null = null;
  /** start() was called while a run was under way: run again after it (a newer job may wait). */
  private again = false;
  private overrides: readonly PriceOverride[];

  constructor(private readonly opts: RepricingOptions) {
    this.overrides = opts.overrides;
  }

  /** The set `schedule()` compares with the applied one (another instance scheduled its job). */
  setOverrides(overrides: readonly PriceOverride[]): void {
    this.overrides = overrides;
  }

  /**
   * The override set changed while running (issue 17: added or removed in the dashboard):
   * record the job for it now and work through it in the background. The running job, if any,
   * is superseded by it (its models are merged into the new one).
   */
  async change(overrides: readonly PriceOverride[]): Promise<RepricingJob | null> {
    this.setOverrides(overrides);
    const job = await this.schedule();
    if (job) this.start();
    return job;
  }

  /**
   * Compare with the applied set and record a job if it changed (awaited at start: it is one
   * transaction). A failure is logged and leaves the applied set as it was, so the next start
   * schedules it again; the collector starts either way.
   */
  async schedule(): Promise<RepricingJob | null> {
    const { pool, log } = this.opts;
    const overrides = this.overrides;
    const now = (this.opts.now ?? Date.now)();
    const job = await scheduleRepricing({
      pool,
      fingerprint: fingerprintOf(overrides),
      overrides,
      diff: (applied) => changedOverrideModels(parseApplied(applied), overrides),
      nowMs: now,
    }).catch((err: unknown) => {
      log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        "pricing: could not compare the price overrides with the applied ones; history is not re-priced until the next start",
      );
      return null;
    });
    if (job)
      log.info(
        { changes: job.changes, rows: job.rowsTotal },
        "pricing: price overrides changed, re-pricing the affected usage in the background",
      );
    return job;
  }

  /** Work through the running job (if any) in the background; logs and gives up on an error. */
  start(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runOnce()
      .catch((err: unknown) =>
        this.opts.log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          "pricing: re-pricing stopped on an error (it resumes from its cursor at the next start)",
        ),
      )
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.start();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Run the latest job to its end (or until stopped); returns when done. For tests and `start`. */
  async runOnce(): Promise<void> {
    const { pool, log } = this.opts;
    const limit = this.opts.batchRows ?? 500;
    const pauseMs = this.opts.pauseMs ?? 50;
    await withRepricingLock(
      pool,
      async () => {
        const job = await readLatestRepricing(pool);
        if (job === null || job.status !== "running") return;
        let done = job.rowsDone;
        for (;;) {
          if (this.stopped) return;
          const r = await repriceBatch({
            pool,
            jobId: job.id,
            price: this.opts.price,
            limit,
            nowMs: (this.opts.now ?? Date.now)(),
          });
          if (r === null) return;
          if (r.finished) {
            const end = await readLatestRepricing(pool);
            log.info(
              { rows: end?.rowsDone ?? done, changed: end?.rowsChanged ?? null },
              "pricing: re-pricing finished",
            );
            return;
          }
          done += r.done;
          log.debug({ done, total: job.rowsTotal }, "pricing: re-pricing");
          if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
        }
      },
      { alone: this.opts.alone ?? false },
    );
  }
}
