import { zeroCounts } from "@codex-fleet/codex-fakes/simulator";
import { describe, expect, it } from "vitest";
import { compareTotals, formatComparison } from "../demo/verify.ts";

const served = (total: number) => ({
  ...zeroCounts(),
  totalTokens: total,
  inputTokens: total - 10,
  outputTokens: 10,
});

describe("compareTotals", () => {
  it.each([
    ["equal counters", { totalTokens: 100, inputTokens: 90, outputTokens: 10 }, true],
    ["a missing output token", { totalTokens: 99, inputTokens: 90, outputTokens: 9 }, false],
    ["no row at all", undefined, false],
  ])("does compare %s", (_name, counted, equal) => {
    const rows = compareTotals(
      new Map([["alice", served(100)]]),
      new Map(counted ? [["alice", { cachedInputTokens: 0, reasoningOutputTokens: 0, ...counted }]] : []),
    );
    expect(rows[0]?.equal).toBe(equal);
  });

  it("does print a total line and name the counters that differ", () => {
    const rows = compareTotals(
      new Map([
        ["alice", served(100)],
        ["bob", served(50)],
      ]),
      new Map([
        [
          "alice",
          {
            totalTokens: 100,
            inputTokens: 90,
            outputTokens: 10,
            cachedInputTokens: 0,
            reasoningOutputTokens: 0,
          },
        ],
      ]),
    );
    const text = formatComparison(rows);
    expect(text).toMatch(/bob\s+50\s+0\s+NO \(inputTokens, outputTokens, totalTokens\)/);
    expect(text).toMatch(/TOTAL\s+150\s+100\s+NO/);
  });
});
