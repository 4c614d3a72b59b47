/**
 * The fleet's threads by id, and every target's thread counts kept with them. A thread's state is
 * never changed in place (the reducer returns a new one), so `set` and `delete` are the only ways
 * a count can change, and they keep it: the counts are exact by construction, and a target's view
 * reads them in O(1). Before, every snapshot and every live tick that carried a target change
 * walked all threads to count them (22 ms per live connect at 50,000 threads, and about a tenth
 * of the main thread with 5,000 targets changing state; BENCHMARKS "Live snapshot, session 15").
 */
import type { ThreadState } from "../ingest/thread-state.ts";

/** One target's threads: all, active, owed a total (TargetView threads/activeThreads/pendingThreads). */
export interface TargetThreadCount {
  readonly threads: number;
  readonly active: number;
  readonly pending: number;
}

interface Count {
  threads: number;
  active: number;
  pending: number;
}

const NO_THREADS: TargetThreadCount = Object.freeze({ threads: 0, active: 0, pending: 0 });

export class ThreadTable extends Map<string, ThreadState> {
  private readonly byTarget = new Map<string, Count>();

  override set(id: string, state: ThreadState): this {
    const before = super.get(id);
    if (before !== undefined) this.add(before, -1);
    this.add(state, 1);
    return super.set(id, state);
  }

  override delete(id: string): boolean {
    const before = super.get(id);
    if (before === undefined) return false;
    this.add(before, -1);
    return super.delete(id);
  }

  override clear(): void {
    this.byTarget.clear();
    super.clear();
  }

  /** How many threads of `target` are held (the per-target bound reads it). */
  threadsOf(target: string): number {
    return this.byTarget.get(target)?.threads ?? 0;
  }

  /** A target's counts now (a copy: it does not follow later changes). */
  countsOf(target: string): TargetThreadCount {
    const c = this.byTarget.get(target);
    return c ? { threads: c.threads, active: c.active, pending: c.pending } : NO_THREADS;
  }

  private add(t: ThreadState, sign: 1 | -1): void {
    let c = this.byTarget.get(t.targetId);
    if (c === undefined) {
      c = { threads: 0, active: 0, pending: 0 };
      this.byTarget.set(t.targetId, c);
    }
    c.threads += sign;
    if (t.status === "active") c.active += sign;
    if (t.owedSinceMs !== null) c.pending += sign;
    if (c.threads === 0) this.byTarget.delete(t.targetId);
  }
}
