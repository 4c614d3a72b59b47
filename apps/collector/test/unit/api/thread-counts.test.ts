import { describe, expect, it } from "vitest";
import { ThreadCounts, targetView } from "../../../src/api/views.ts";
import type { TargetRuntime } from "../../../src/fleet/fleet.ts";
import { emptyThread, type ThreadState } from "../../../src/ingest/thread-state.ts";

/** What targetView reads of a target at run time. */
function runtime(name: string): TargetRuntime {
  return {
    config: { name, team: "t", url: `ws://127.0.0.1:1/${name}`, labels: {} },
    status: { state: "closed", reason: null, sinceMs: 0, error: null, userAgent: null },
    lastInvalid: null,
    lastEventAtMs: null,
    connectedSinceMs: null,
    followedBy: null,
  } as unknown as TargetRuntime;
}

function threads(n: number, targets: number, seed: number): ThreadState[] {
  let x = seed;
  const rnd = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
  const statuses = ["active", "idle", "systemError", "notLoaded"] as const;
  return Array.from({ length: n }, (_, i) => ({
    ...emptyThread(`th-${i}`, `dev-${Math.floor(rnd() * targets)}`, 0),
    status: statuses[Math.floor(rnd() * 4)] as ThreadState["status"],
    owedSinceMs: rnd() < 0.2 ? 1000 : null,
  }));
}

describe("ThreadCounts (the live snapshot's target views, counted once)", () => {
  it("gives every target the view that counting its own threads gives", () => {
    for (const seed of [1, 2, 3]) {
      const all = threads(2_000, 40, seed);
      const counts = new ThreadCounts(all);
      // dev-40 .. dev-44 have no thread at all.
      for (let i = 0; i < 45; i++) {
        const rt = runtime(`dev-${i}`);
        expect(targetView(rt, counts, "0.0.0")).toEqual(targetView(rt, all, "0.0.0"));
      }
    }
  });

  it("walks the threads once for every target's view", () => {
    const all = threads(1_000, 50, 7);
    let walked = 0;
    const counts = new ThreadCounts(
      (function* () {
        for (const t of all) {
          walked++;
          yield t;
        }
      })(),
    );
    const total = Array.from(
      { length: 50 },
      (_, i) => targetView(runtime(`dev-${i}`), counts, "0.0.0").threads,
    );
    expect(walked).toBe(1_000);
    expect(total.reduce((a, b) => a + b, 0)).toBe(1_000);
  });
});
