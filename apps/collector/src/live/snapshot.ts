/**
 * The live snapshot's threads are capped: a fleet of 100,000 threads would otherwise make a
 * snapshot of 100+ MiB per connecting browser. It carries the most relevant ones — active
 * (waiting first), then errored, idle, unloaded; newest event first within each — and the
 * snapshot's `threadsTotal` tells the dashboard how many there are in all.
 */
import type { ThreadState } from "../ingest/thread-state.ts";

/** Matches the dashboard's own cap on live threads (live-store.ts DEFAULT_LIVE_LIMITS). */
export const MAX_SNAPSHOT_THREADS = 5000;

const RANKS = 5;

function rank(t: ThreadState): number {
  if (t.status === "active") return t.activeFlags.length > 0 || t.pendingRequests.length > 0 ? 0 : 1;
  if (t.status === "systemError") return 2;
  if (t.status === "idle") return 3;
  return 4;
}

/** Within a rank: newer event first, then id (deterministic: ids are unique). */
function newerFirst(a: ThreadState, b: ThreadState): number {
  return (b.lastEventAtMs ?? -1) - (a.lastEventAtMs ?? -1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Reorder `a` so that its first `k` elements are its `k` least under `cmp`, in no particular order
 * (quickselect, Wirth's partition, on the element at k − 1). Expected O(n); after too many rounds
 * (a pathological order) it sorts what is left instead.
 */
function selectLeast<T>(a: T[], k: number, cmp: (x: T, y: T) => number): void {
  const nth = k - 1;
  let lo = 0;
  let hi = a.length - 1;
  let rounds = 2 * Math.ceil(Math.log2(a.length + 1)) + 8;
  while (lo < hi) {
    if (rounds-- === 0) {
      const rest = a.slice(lo, hi + 1).sort(cmp);
      for (let i = 0; i < rest.length; i++) a[lo + i] = rest[i] as T;
      return;
    }
    const pivot = a[nth] as T;
    let i = lo;
    let j = hi;
    do {
      while (cmp(a[i] as T, pivot) < 0) i++;
      while (cmp(pivot, a[j] as T) < 0) j--;
      if (i <= j) {
        const x = a[i] as T;
        a[i] = a[j] as T;
        a[j] = x;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < nth) lo = i;
    if (nth < i) hi = j;
  }
}

/**
 * The `max` most relevant threads, in order: lower rank, newer event, then id. Each thread is
 * ranked once into its rank's bucket; the buckets are taken in order, and only the one that
 * crosses `max` is cut to its newest before sorting: at 50,000 threads a full sort with the rank
 * in its comparison was most of the snapshot's time (BENCHMARKS "Live snapshot at 5,000 targets").
 */
export function snapshotThreads(threads: Iterable<ThreadState>, max: number): ThreadState[] {
  const buckets: ThreadState[][] = Array.from({ length: RANKS }, () => []);
  for (const t of threads) (buckets[rank(t)] as ThreadState[]).push(t);
  const out: ThreadState[] = [];
  for (const bucket of buckets) {
    const room = max - out.length;
    if (room <= 0) break;
    if (bucket.length > room) {
      selectLeast(bucket, room, newerFirst);
      bucket.length = room;
    }
    bucket.sort(newerFirst);
    for (const t of bucket) out.push(t);
  }
  return out;
}
