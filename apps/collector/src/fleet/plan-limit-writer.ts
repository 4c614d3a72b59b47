/**
 * Writes plan limits (issue 14) off the socket's path: the fleet enqueues and returns at once; a
 * flush writes what is queued, one statement set at a time. A slow database never holds up a
 * connection, and a failed write is retried with backoff, not lost: the newest state per limit
 * wins the queue, samples accumulate (bounded), the latest read outcome per target wins.
 */
import {
  type PlanLimitSourceStatus,
  type PlanSampleRow,
  savePlanLimit,
  savePlanLimitSource,
} from "@codex-fleet/db/repositories/plan-limits-repository";
import type { PlanLimitState } from "@codex-fleet/protocol/limits";
import { isRejectedData } from "../ingest/writer.ts";
import { BufferedWriter } from "../lib/drain.ts";

const WRITE_FAILED = "plan-limit write failed; still buffered";

/** Samples buffered per limit while the database is away; past it the oldest are dropped. */
export const MAX_BUFFERED_SAMPLES = 5_000;

interface LimitEntry {
  targetId: string;
  state: PlanLimitState;
  samples: PlanSampleRow[];
}

interface SourceEntry {
  targetId: string;
  status: PlanLimitSourceStatus;
  reason: string | null;
  atMs: number;
}

export interface PlanLimitWriterOptions {
  pool: Parameters<typeof savePlanLimit>[0]["pool"];
  /** A write failed (it will be retried); `attempt` counts consecutive failures. */
  onError?(err: unknown, attempt: number): void;
  /** The database refused this entry for its content: dropped so that the rest goes on. */
  onDropped?(what: string, err: unknown): void;
  flushIntervalMs?: number;
}

/** Queues and writes plan-limit states, samples and read outcomes. */
export class PlanLimitWriter extends BufferedWriter {
  private limits = new Map<string, LimitEntry>();
  private sources = new Map<string, SourceEntry>();
  private droppedSamples = 0;
  /** Entries taken by the write in progress. */
  private writing = 0;

  constructor(private readonly opts: PlanLimitWriterOptions) {
    super(WRITE_FAILED, false);
  }

  protected pending(): boolean {
    return this.limits.size + this.sources.size > 0;
  }

  /** Entries waiting for the database, the ones being written included. */
  get backlog(): number {
    return this.limits.size + this.sources.size + this.writing;
  }

  /** Samples dropped because the buffer was full (the database was away for long). */
  get samplesDropped(): number {
    return this.droppedSamples;
  }

  /** Store this state of a limit, with the new samples of its windows. */
  saveLimit(targetId: string, state: PlanLimitState, samples: readonly PlanSampleRow[]): void {
    this.putLimit({ targetId, state, samples: [...samples] });
    this.schedule(this.opts.flushIntervalMs ?? 25);
  }

  /** Record the outcome of a target's last `account/rateLimits/read`. */
  saveSource(entry: SourceEntry): void {
    this.putSource(entry);
    this.schedule(this.opts.flushIntervalMs ?? 25);
  }

  /** Newer state wins; samples of both are kept (the database keeps one per instant). */
  private putLimit(e: LimitEntry): void {
    const k = `${e.targetId}\u0000${e.state.limitId}`;
    const had = this.limits.get(k);
    const state = had && had.state.observedAtMs > e.state.observedAtMs ? had.state : e.state;
    const samples = had ? [...had.samples, ...e.samples] : e.samples;
    if (samples.length > MAX_BUFFERED_SAMPLES) {
      this.droppedSamples += samples.length - MAX_BUFFERED_SAMPLES;
      samples.splice(0, samples.length - MAX_BUFFERED_SAMPLES);
    }
    this.limits.set(k, { targetId: e.targetId, state, samples });
  }

  private putSource(e: SourceEntry): void {
    const had = this.sources.get(e.targetId);
    if (!had || had.atMs <= e.atMs) this.sources.set(e.targetId, e);
  }

  protected runOnce(): Promise<void> {
    const limits = [...this.limits.values()];
    const sources = [...this.sources.values()];
    this.limits = new Map();
    this.sources = new Map();
    this.writing = limits.length + sources.length;
    const run = (async () => {
      const { pool } = this.opts;
      // One statement set per entry (few: one per target and limit at most), in order; on a
      // connection failure the rest goes back to the queue behind nothing newer.
      const jobs: { what: string; write(): Promise<void>; putBack(): void }[] = [
        ...limits.map((e) => ({
          what: `plan limit ${e.targetId}/${e.state.limitId}`,
          write: () => savePlanLimit({ pool, targetId: e.targetId, state: e.state, samples: e.samples }),
          putBack: () => this.putLimit(e),
        })),
        ...sources.map((e) => ({
          what: `plan limit source ${e.targetId}`,
          write: () =>
            savePlanLimitSource({
              pool,
              targetId: e.targetId,
              status: e.status,
              reason: e.reason,
              atMs: e.atMs,
            }),
          putBack: () => this.putSource(e),
        })),
      ];
      for (const [i, job] of jobs.entries()) {
        try {
          await job.write();
          this.writing--;
        } catch (err) {
          if (isRejectedData(err)) {
            this.writing--;
            this.opts.onDropped?.(job.what, err);
            continue;
          }
          this.failures++;
          this.writing = 0;
          for (const rest of jobs.slice(i)) rest.putBack();
          this.opts.onError?.(err, this.failures);
          return;
        }
      }
      this.failures = 0;
    })();
    this.running = run.finally(() => {
      this.writing = 0;
      this.running = null;
    });
    return this.running;
  }
}
