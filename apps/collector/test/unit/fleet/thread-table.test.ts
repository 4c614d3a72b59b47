import { describe, expect, it } from "vitest";
import { targetView } from "../../../src/api/views.ts";
import type { TargetRuntime } from "../../../src/fleet/fleet.ts";
import { ThreadTable } from "../../../src/fleet/thread-table.ts";
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

function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

const STATUSES = ["active", "idle", "systemError", "notLoaded"] as const;

/** Counting a target's threads by walking them all: the oracle. */
function recount(table: ThreadTable, target: string) {
  let threads = 0;
  let active = 0;
  let pending = 0;
  for (const t of table.values()) {
    if (t.targetId !== target) continue;
    threads++;
    if (t.status === "active") active++;
    if (t.owedSinceMs !== null) pending++;
  }
  return { threads, active, pending };
}

describe("ThreadTable (the fleet's threads, with every target's counts kept as they change)", () => {
  it("keeps every target's counts equal to counting its threads, through sets, replacements, deletes and clears", () => {
    for (const seed of [1, 2, 3]) {
      const rnd = random(seed);
      const table = new ThreadTable();
      const pick = (n: number) => Math.floor(rnd() * n);
      for (let step = 0; step < 3_000; step++) {
        const r = rnd();
        const id = `th-${pick(300)}`;
        if (r < 0.7) {
          // A new thread, or a new state of one (its status, owed mark, even its target may differ).
          const state: ThreadState = {
            ...emptyThread(id, `dev-${pick(20)}`, step),
            status: STATUSES[pick(4)] as ThreadState["status"],
            owedSinceMs: rnd() < 0.3 ? step : null,
          };
          table.set(id, state);
        } else if (r < 0.995) {
          const held = table.has(id);
          expect(table.delete(id)).toBe(held);
        } else {
          table.clear();
        }
        if (step % 50 === 0 || r >= 0.995)
          // dev-20 .. dev-24 never have a thread.
          for (let i = 0; i < 25; i++) expect(table.countsOf(`dev-${i}`)).toEqual(recount(table, `dev-${i}`));
      }
    }
  });

  it("returns false for a thread it does not hold and changes no count", () => {
    const table = new ThreadTable();
    table.set("a", { ...emptyThread("a", "dev-1", 0), status: "active" });
    expect(table.delete("b")).toBe(false);
    expect(table.countsOf("dev-1")).toEqual({ threads: 1, active: 1, pending: 0 });
    expect(table.delete("a")).toBe(true);
    expect(table.countsOf("dev-1")).toEqual({ threads: 0, active: 0, pending: 0 });
  });

  it("gives a target's view its counts without walking the threads", () => {
    const table = new ThreadTable();
    const rnd = random(7);
    for (let i = 0; i < 1_000; i++)
      table.set(`th-${i}`, {
        ...emptyThread(`th-${i}`, `dev-${Math.floor(rnd() * 50)}`, 0),
        status: STATUSES[Math.floor(rnd() * 4)] as ThreadState["status"],
      });
    const walk = table.values;
    table.values = () => {
      throw new Error("walked the threads");
    };
    const views = Array.from({ length: 50 }, (_, i) => targetView(runtime(`dev-${i}`), table, "0.0.0"));
    table.values = walk;
    expect(views.reduce((a, v) => a + v.threads, 0)).toBe(1_000);
    for (const v of views)
      expect({ threads: v.threads, active: v.activeThreads }).toEqual({
        threads: recount(table, v.name).threads,
        active: recount(table, v.name).active,
      });
  });
});
