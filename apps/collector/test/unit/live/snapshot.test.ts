import { describe, expect, it } from "vitest";
import { emptyThread, type ThreadState } from "../../../src/ingest/thread-state.ts";
import { snapshotThreads } from "../../../src/live/snapshot.ts";

const T0 = Date.UTC(2026, 11, 7);

/** The order the snapshot promises, as a plain full sort (the definition, not the implementation). */
function reference(threads: ThreadState[], max: number): string[] {
  const rank = (t: ThreadState) =>
    t.status === "active"
      ? t.activeFlags.length > 0 || t.pendingRequests.length > 0
        ? 0
        : 1
      : t.status === "systemError"
        ? 2
        : t.status === "idle"
          ? 3
          : 4;
  return [...threads]
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        (b.lastEventAtMs ?? -1) - (a.lastEventAtMs ?? -1) ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .slice(0, max)
    .map((t) => t.id);
}

/** `n` threads of every status, with few distinct event times (ties) and some without any. */
function fleet(n: number, seed: number): ThreadState[] {
  let s = seed;
  const next = (m: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % m;
  };
  const statuses = ["active", "active", "systemError", "idle", "notLoaded"] as const;
  return Array.from({ length: n }, (_, i) => {
    const t = emptyThread(`th-${String(next(1_000_000)).padStart(6, "0")}-${i}`, "alice", T0);
    t.status = statuses[next(statuses.length)] as ThreadState["status"];
    if (t.status === "active" && next(3) === 0) t.activeFlags = ["waitingOnApproval"];
    t.lastEventAtMs = next(10) === 0 ? null : T0 - next(50) * 1000;
    return t;
  });
}

describe("snapshotThreads: the most relevant threads, in order", () => {
  it.each([0, 1, 2, 50, 2000])(
    "does take the same threads in the same order as a full sort (%i threads)",
    (n) => {
      for (const seed of [1, 2, 3]) {
        const threads = fleet(n, seed);
        for (const max of [0, 1, 7, Math.floor(n / 3), n - 1, n, n + 5]) {
          if (max < 0) continue;
          expect(snapshotThreads(threads, max).map((t) => t.id)).toEqual(reference(threads, max));
        }
        // Already in order, and in reverse order: no pathological slowness, same answer.
        const sorted = reference(threads, n).map((id) => threads.find((t) => t.id === id) as ThreadState);
        expect(snapshotThreads(sorted, n >> 1).map((t) => t.id)).toEqual(reference(threads, n >> 1));
        expect(snapshotThreads([...sorted].reverse(), n >> 1).map((t) => t.id)).toEqual(
          reference(threads, n >> 1),
        );
      }
    },
  );

  it("does read each thread's status a bounded number of times, not once per comparison", () => {
    const threads = fleet(5000, 7);
    let reads = 0;
    const watched = threads.map((t) => {
      const status = t.status;
      return Object.defineProperty({ ...t }, "status", {
        get: () => {
          reads++;
          return status;
        },
      }) as ThreadState;
    });
    expect(snapshotThreads(watched, 1000)).toHaveLength(1000);
    // Ranking reads it at most three times; a comparison sort that ranks in its comparator reads
    // it on every comparison (~ n log n).
    expect(reads).toBeLessThanOrEqual(3 * threads.length);
  });
});
