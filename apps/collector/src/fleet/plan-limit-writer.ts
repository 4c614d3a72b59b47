/**
 * Writes plan limits (issue 14) off the socket's path: the fleet enqueues and returns at once; a
 * flush writes what is queued, a few statements per batch of many targets. A slow database never holds up a
 * connection, and a failed write is retried with backoff, not lost: the newest state per limit
 * wins the queue, samples accumulate (bounded), the latest read outcome per target wins.
 */
import {
  type PlanLimitSourceStatus,
  type PlanSampleRow,
  savePlanLimit,
  savePlanLimitSource,
  savePlanLimitSources,
  savePlanLimits,
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
      // A few statements per batch of up to WRITE_BATCH entries (one target's states and
      // outcome each, at most): the states of 10,000 targets opening together take a few round
      // trips, not two per target. The database refusing a batch for its content: its entries
      // one at a time, dropping only the refused ones. On a connection failure, the batch and
      // the rest go back to the queue, behind nothing newer.
      const jobs: Job[] = [
        ...chunks(limits, WRITE_BATCH).map((batch) => ({
          n: batch.length,
          write: () => savePlanLimits({ pool, entries: batch }),
          one: batch.map((e) => ({
            what: `plan limit ${e.targetId}/${e.state.limitId}`,
            write: () => savePlanLimit({ pool, targetId: e.targetId, state: e.state, samples: e.samples }),
          })),
          putBack: () => {
            for (const e of batch) this.putLimit(e);
          },
        })),
        ...chunks(sources, WRITE_BATCH).map((batch) => ({
          n: batch.length,
          write: () => savePlanLimitSources({ pool, entries: batch }),
          one: batch.map((e) => ({
            what: `plan limit source ${e.targetId}`,
            write: () => savePlanLimitSource({ pool, ...e }),
          })),
          putBack: () => {
            for (const e of batch) this.putSource(e);
          },
        })),
      ];
      for (const [i, job] of jobs.entries()) {
        try {
          try {
            await job.write();
          } catch (err) {
            if (!isRejectedData(err)) throw err;
            await this.oneByOne(job);
          }
          this.writing -= job.n;
        } catch (err) {
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

  /**
   * A batch the database refused for its content: each entry alone, dropping the refused ones.
   * Throws on a connection failure (the whole batch goes back: a second write of an entry is
   * harmless, both statements keep the newer state and each sample once).
   */
  private async oneByOne(job: Job): Promise<void> {
    for (const one of job.one) {
      try {
        await one.write();
      } catch (err) {
        if (!isRejectedData(err)) throw err;
        this.opts.onDropped?.(one.what, err);
      }
    }
  }
}

/** Entries per statement set: bounded statements (a few MB of parameters at most). */
export const WRITE_BATCH = 1_000;

interface Job {
  n: number;
  write(): Promise<void>;
  one: { what: string; write(): Promise<void> }[];
  putBack(): void;
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
