import { describe, expect, it } from "vitest";
import { HEAP_GROWING_PERCENT, heapPolicyFlags } from "../src/heap-policy.ts";

describe("heapPolicyFlags", () => {
  const ours = [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
  it.each([
    { what: "no node flags", execArgv: [], flags: ours },
    {
      what: "unrelated node flags",
      execArgv: ["--enable-source-maps", "--max-old-space-size=2048"],
      flags: ours,
    },
    { what: "the operator's own factor (dashes)", execArgv: ["--heap-growing-percent=80"], flags: [] },
    { what: "the operator's own factor (underscores)", execArgv: ["--heap_growing_percent=20"], flags: [] },
    { what: "a flag that only starts like it", execArgv: ["--heap-growing-percentage=80"], flags: ours },
  ])("sets $flags when node was started with $what", ({ execArgv, flags }) => {
    expect(heapPolicyFlags(execArgv)).toEqual(flags);
  });
});
