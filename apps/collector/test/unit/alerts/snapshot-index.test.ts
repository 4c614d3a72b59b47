import { describe, expect, it } from "vitest";
import { evaluateRule } from "../../../src/alerts/evaluate.ts";
import { effectiveRules } from "../../../src/alerts/rules.ts";
import { SnapshotIndex } from "../../../src/alerts/snapshot-index.ts";
import type { FleetSnapshot } from "../../../src/alerts/types.ts";
import { MIN, rule, snapshot, T0, target, thread } from "../../support/alert-fixtures.ts";

const TRAVERSALS = new Set<PropertyKey>([Symbol.iterator, "map", "filter", "forEach", "find", "some"]);

/** `items`, counting every walk over it (for…of, map, filter…) in `walks[name]`. */
function counted<T>(items: T[], name: string, walks: Record<string, number>): T[] {
  walks[name] = 0;
  return new Proxy(items, {
    get(arr, prop, receiver) {
      if (TRAVERSALS.has(prop)) walks[name] = (walks[name] ?? 0) + 1;
      return Reflect.get(arr, prop, receiver);
    },
  });
}

/** Alice settled with a thread waiting on approval; bob down with two threads; carol's thread failed. */
function fleet(walks: Record<string, number> = {}): FleetSnapshot {
  return snapshot({
    targets: counted(
      [
        target(),
        target({ id: "bob", team: "web", state: "backoff", connectedSinceMs: null }),
        target({ id: "carol", team: "web" }),
      ],
      "targets",
      walks,
    ),
    threads: counted(
      [
        thread({
          id: "th-a",
          status: "active",
          activeFlags: ["waitingOnApproval"],
          statusSinceMs: T0 - 20 * MIN,
        }),
        thread({ id: "th-b1", targetId: "bob", status: "systemError" }),
        thread({ id: "th-b2", targetId: "bob" }),
        thread({ id: "th-c", targetId: "carol", status: "systemError", lastTurnId: "tu-1" }),
      ],
      "threads",
      walks,
    ),
    failures: [
      {
        turnId: "tu-1",
        threadId: "th-c",
        targetId: "carol",
        codexErrorInfo: "usageLimitExceeded",
        atMs: T0 - MIN,
      },
    ],
  });
}

const RULES = effectiveRules({ rules: [], repeatIntervalMs: 3_600_000 });

describe("SnapshotIndex: one evaluation's rules share what they derive from the snapshot", () => {
  it("does walk the threads twice for every default rule together, not once per rule", () => {
    const walks: Record<string, number> = {};
    const snap = fleet(walks);
    const index = new SnapshotIndex(snap, T0);
    const evaluations = RULES.map((r) => evaluateRule(r, snap, T0, index));
    // Something came of it: alice's wait, carol's failure and limit, bob's threads held.
    expect(evaluations.reduce((n, ev) => n + ev.conditions.length, 0)).toBeGreaterThanOrEqual(3);
    // Threads: once for the partition, once by id (the failures' threads). Targets: once by id
    // (their teams and settled state), and each of the two target rules.
    expect(walks).toEqual({ targets: 3, threads: 2 });
    // A snapshot that brings its targets by id (SnapshotInputs keeps them): walked by the rules only.
    const walks2: Record<string, number> = {};
    const snap2 = fleet(walks2);
    const withMap = { ...snap2, targetById: new Map([...snap.targets].map((t) => [t.id, t])) };
    walks2.targets = 0;
    const index2 = new SnapshotIndex(withMap, T0);
    const again = RULES.map((r) => evaluateRule(r, withMap, T0, index2));
    expect(again).toEqual(evaluations);
    expect(walks2).toEqual({ targets: 2, threads: 2 });
  });

  it("does conclude for each rule what evaluating it alone concludes", () => {
    const rules = [...RULES, rule({ kind: "planWindow", thresholdPct: 50 }), rule({ kind: "noProgress" })];
    const shared = new SnapshotIndex(fleet(), T0);
    for (const r of rules) {
      const alone = evaluateRule(r, fleet(), T0);
      const together = evaluateRule(r, shared.snap, T0, shared);
      expect({ ...together, held: [...together.held] }).toEqual({ ...alone, held: [...alone.held] });
    }
  });

  it("does hold the threads of a target that is down and skip those of a target no longer configured", () => {
    const snap = fleet();
    const index = new SnapshotIndex({ ...snap, targets: snap.targets.slice(1) }, T0);
    expect([...index.heldThreadKeys].sort()).toEqual(["thread:th-b1", "thread:th-b2"]);
    expect(index.partition.known.map((t) => t.id)).toEqual(["th-c"]);
    expect(index.partition.teams).toEqual(["web"]);
  });

  it("does not make the held threads' keys until an evaluation's held set is read", () => {
    let idReads = 0;
    const down = thread({ id: "th-down", targetId: "bob" });
    const watched = Object.defineProperty({ ...down }, "id", {
      get: () => {
        idReads++;
        return down.id;
      },
    });
    const snap = snapshot({
      targets: [target({ id: "bob", state: "backoff", connectedSinceMs: null })],
      threads: [watched],
    });
    const index = new SnapshotIndex(snap, T0);
    const evaluations = RULES.map((r) => evaluateRule(r, snap, T0, index));
    expect(idReads).toBe(0);
    const systemError = evaluations[RULES.findIndex((r) => r.kind === "systemError")];
    expect([...(systemError?.held ?? [])]).toEqual(["thread:th-down"]);
    expect(idReads).toBe(1);
  });
});
