/**
 * The live snapshot's threads are capped: a fleet of 100,000 threads would otherwise make a
 * snapshot of 100+ MiB per connecting browser. It carries the most relevant ones — active
 * (waiting first), then errored, idle, unloaded; newest event first within each — and the
 * snapshot's `threadsTotal` tells the dashboard how many there are in all.
 */
import type { ThreadState } from "../ingest/thread-state.ts";

/** Matches the dashboard's own cap on live threads (live-store.ts DEFAULT_LIVE_LIMITS). */
export const MAX_SNAPSHOT_THREADS = 5000;

function rank(t: ThreadState): number {
  if (t.status === "active") return t.activeFlags.length > 0 || t.pendingRequests.length > 0 ? 0 : 1;
  if (t.status === "systemError") return 2;
  if (t.status === "idle") return 3;
  return 4;
}

/** Most relevant first: lower rank, newer event, then id (deterministic). */
function compare(a: ThreadState, b: ThreadState): number {
  return (
    rank(a) - rank(b) ||
    (b.lastEventAtMs ?? -1) - (a.lastEventAtMs ?? -1) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** The `max` most relevant threads, in that order. */
export function snapshotThreads(threads: Iterable<ThreadState>, max: number): ThreadState[] {
  const all = [...threads];
  if (all.length <= max) return all.sort(compare);
  return all.sort(compare).slice(0, max);
}
