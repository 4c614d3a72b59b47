import { describe, expect, it } from "vitest";
import { planShare, type ShareInput } from "../../../src/cluster/share-plan.ts";

const names = (n: number) => Array.from({ length: n }, (_, i) => `t${String(i).padStart(3, "0")}`);

function input(over: Partial<ShareInput>): ShareInput {
  return {
    self: "A",
    targets: [],
    liveHolders: new Map(),
    liveInstances: ["A"],
    held: new Set(),
    freeBefore: new Set(),
    ...over,
  };
}

/** Run instances' plans one after another against one lease table until nothing changes. */
function converge(targets: string[], instances: string[], holders = new Map<string, string>()) {
  for (let round = 0; round < 20; round++) {
    let changed = false;
    for (const self of instances) {
      const held = new Set([...holders].filter(([, h]) => h === self).map(([n]) => n));
      const plan = planShare(input({ self, targets, liveHolders: holders, liveInstances: instances, held }));
      for (const n of plan.release) {
        holders.delete(n);
        changed = true;
      }
      for (const n of plan.acquire)
        if (!holders.has(n)) {
          holders.set(n, self);
          changed = true;
        }
    }
    if (!changed) return { holders, rounds: round };
  }
  throw new Error("did not converge");
}

describe("planShare", () => {
  it("one instance takes every target", () => {
    const plan = planShare(input({ targets: names(7) }));
    expect(plan.share).toBe(7);
    expect(plan.acquire.sort()).toEqual(names(7));
    expect(plan.release).toEqual([]);
  });

  it("takes at most its share of free targets while others have room", () => {
    const plan = planShare(input({ targets: names(10), liveInstances: ["A", "B", "C"] }));
    expect(plan.share).toBe(4);
    expect(plan.acquire).toHaveLength(4);
  });

  it("takes targets left free for two snapshots regardless of share", () => {
    const targets = names(10);
    const first = planShare(input({ targets, liveInstances: ["A", "B"] }));
    const plan = planShare(input({ targets, liveInstances: ["A", "B"], freeBefore: new Set(targets) }));
    expect(first.acquire).toHaveLength(5);
    expect(plan.acquire).toHaveLength(10);
  });

  it("hands over its excess when an instance joins, and only what the joiner has room for", () => {
    const targets = names(9);
    const held = new Set(targets);
    const holders = new Map(targets.map((t) => [t, "A"]));
    const plan = planShare(input({ targets, liveHolders: holders, held, liveInstances: ["A", "B", "C"] }));
    expect(plan.share).toBe(3);
    expect(plan.release).toHaveLength(6);
    // Free targets exist that the others will take first: release nothing more.
    holders.delete("t000");
    held.delete("t000");
    const again = planShare(input({ targets, liveHolders: holders, held, liveInstances: ["A", "B"] }));
    expect(again.share).toBe(5);
    expect(again.release).toHaveLength(3);
  });

  it("keeps the leases it is told to keep, handing over only the others", () => {
    const targets = names(10);
    const held = new Set(targets);
    const holders = new Map(targets.map((t) => [t, "A"]));
    const keep = new Set(targets.slice(0, 8));
    const plan = planShare(input({ targets, liveHolders: holders, held, liveInstances: ["A", "B"], keep }));
    expect(plan.share).toBe(5);
    expect(plan.release.sort()).toEqual(targets.slice(8));
    const none = planShare(
      input({ targets, liveHolders: holders, held, liveInstances: ["A", "B"], keep: held }),
    );
    expect(none.release).toEqual([]);
  });

  it("releases leases of targets no longer known", () => {
    const plan = planShare(input({ targets: ["t1"], held: new Set(["t1", "gone"]) }));
    expect(plan.release).toEqual(["gone"]);
  });

  it("counts an instance holding live leases as live even without its registry row", () => {
    const targets = names(4);
    const holders = new Map([
      ["t000", "B"],
      ["t001", "B"],
    ]);
    const plan = planShare(input({ targets, liveHolders: holders }));
    expect(plan.share).toBe(2);
    expect(plan.acquire.sort()).toEqual(["t002", "t003"]);
  });

  it("converges to an even spread, each target held once, from any start", () => {
    const targets = names(100);
    const { holders } = converge(targets, ["A", "B", "C"]);
    expect(holders.size).toBe(100);
    const per = ["A", "B", "C"].map((i) => [...holders.values()].filter((h) => h === i).length);
    for (const n of per) expect(n).toBeLessThanOrEqual(34);
    expect(per.reduce((a, b) => a + b)).toBe(100);
    // D joins: everyone ends within the new share of 25.
    const after = converge(targets, ["A", "B", "C", "D"], holders).holders;
    const per4 = ["A", "B", "C", "D"].map((i) => [...after.values()].filter((h) => h === i).length);
    expect(per4).toEqual([25, 25, 25, 25]);
  });

  it("a joiner gets a balanced share even when ceil(targets / instances) would let the others keep theirs", () => {
    const targets = names(7);
    const holders = new Map(targets.map((t, i) => [t, i < 4 ? "A" : "B"]));
    const { holders: after } = converge(targets, ["A", "B", "C"], holders);
    const per = ["A", "B", "C"].map((i) => [...after.values()].filter((h) => h === i).length);
    expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    expect(per.reduce((a, b) => a + b)).toBe(7);
  });
});
