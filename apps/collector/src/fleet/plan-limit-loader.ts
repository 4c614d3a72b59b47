/**
 * Loads the stored plan-limit states and recent samples of the targets that open (issue 14), for
 * the whole fleet at once: the targets asking while a load is in flight (or in the same task) go
 * out together in the next one, two queries for up to `MAX_BATCH` targets, not two per target.
 * At 10,000 targets opening together the per-target queries were ~4 KB of garbage each (issue 13
 * goal 5, docs/BENCHMARKS.md "Memory per target").
 */
import { listPlanLimits, listPlanSamples } from "@codex-fleet/db/repositories/plan-limits-repository";
import { FORECAST_LOOKBACK_MS, type PlanLimitState } from "@codex-fleet/protocol/limits";
import type { TargetPlanLimits } from "./plan-limits.ts";

/** Targets per load (the query parameters are arrays of their ids). */
export const MAX_BATCH = 1_000;

/** What one target's tracker seeds itself with. */
export interface StoredPlanLimits {
  states: PlanLimitState[];
  samples: Parameters<TargetPlanLimits["seed"]>[1][number][];
}

interface Waiter {
  targetId: string;
  resolve(stored: StoredPlanLimits): void;
  reject(err: unknown): void;
}

export interface PlanLimitLoaderOptions {
  pool: Parameters<typeof listPlanLimits>[0]["pool"];
  now(): number;
}

/** Batches the stored-state loads of a fleet's targets. */
export class PlanLimitLoader {
  private queue: Waiter[] = [];
  private running = false;

  constructor(private readonly opts: PlanLimitLoaderOptions) {}

  /** The stored states of `targetId` and its samples of the forecast lookback up to now. */
  load(targetId: string): Promise<StoredPlanLimits> {
    return new Promise((resolve, reject) => {
      this.queue.push({ targetId, resolve, reject });
      if (!this.running) {
        this.running = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        const found = await this.query([...new Set(batch.map((w) => w.targetId))]);
        for (const w of batch) w.resolve(found.get(w.targetId) ?? { states: [], samples: [] });
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = false;
  }

  private async query(targetIds: string[]): Promise<Map<string, StoredPlanLimits>> {
    const { pool } = this.opts;
    const nowMs = this.opts.now();
    const [states, samples] = await Promise.all([
      listPlanLimits({ pool, targetIds }),
      listPlanSamples({ pool, targetIds, fromMs: nowMs - FORECAST_LOOKBACK_MS, toMs: nowMs }),
    ]);
    const found = new Map<string, StoredPlanLimits>();
    const of = (target: string): StoredPlanLimits => {
      let stored = found.get(target);
      if (!stored) {
        stored = { states: [], samples: [] };
        found.set(target, stored);
      }
      return stored;
    };
    for (const s of states) of(s.target).states.push(s.state);
    for (const { target, ...sample } of samples) of(target).samples.push(sample);
    return found;
  }
}
