import { describe, expect, it } from "vitest";
import { MAX_VERSION_LABELS, targetsByCodexVersion } from "../../../src/fleet/codex-versions.ts";

describe("targetsByCodexVersion", () => {
  it("counts per version, newest first, unknown last", () => {
    expect(targetsByCodexVersion(["0.169.0", null, "0.171.0", "0.150.0", "0.169.0", "nonsense"])).toEqual([
      ["0.171.0", 1],
      ["0.169.0", 2],
      ["0.150.0", 1],
      ["unknown", 2],
    ]);
    expect(targetsByCodexVersion([])).toEqual([]);
  });

  it("keeps at most MAX_VERSION_LABELS versions (the newest), the rest as other", () => {
    const invented = Array.from({ length: 500 }, (_, i) => `0.${i}.0`);
    const rows = targetsByCodexVersion([...invented, null]);
    expect(rows).toHaveLength(MAX_VERSION_LABELS + 2);
    expect(rows[0]).toEqual(["0.499.0", 1]);
    expect(rows.at(-2)).toEqual(["other", 500 - MAX_VERSION_LABELS]);
    expect(rows.at(-1)).toEqual(["unknown", 1]);
    expect(rows.reduce((s, [, n]) => s + n, 0)).toBe(501);
  });

  it("never makes a label of a string that is not a version", () => {
    const rows = targetsByCodexVersion(['0.1.0"} 1\nevil 1', "x".repeat(10_000), "0.1.0"]);
    expect(rows).toEqual([
      ["0.1.0", 1],
      ["unknown", 2],
    ]);
  });
});
