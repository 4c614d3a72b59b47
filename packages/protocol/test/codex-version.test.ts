import { describe, expect, it } from "vitest";
import {
  codexVersionFromUserAgent,
  compareCodexVersions,
  isBelowCodexFloor,
  SUPPORTED_CODEX_FLOOR,
} from "../src/codex-version.ts";

describe("codexVersionFromUserAgent", () => {
  it("reads the version of real app-server userAgents", () => {
    // As 0.169.0 answers initialize (facts: Surprises — the first client's name is the originator).
    expect(
      codexVersionFromUserAgent(
        "codex_vscode/0.169.0 (Debian 12.0.0; x86_64) xterm (codex_fleet_observer; 0.1.0)",
      ),
    ).toBe("0.169.0");
    expect(codexVersionFromUserAgent("codex_cli_rs/0.150.0 (Mac OS 14.5.0; arm64) iTerm.app/3.5.0")).toBe(
      "0.150.0",
    );
    expect(codexVersionFromUserAgent("codex_fleet_observer/0.171.0")).toBe("0.171.0");
    expect(codexVersionFromUserAgent("my/odd/originator/0.172.0-alpha.3 (Linux)")).toBe("0.172.0-alpha.3");
  });

  it.each([
    null,
    undefined,
    "",
    " ",
    "codex_vscode",
    "/0.169.0",
    "codex_vscode/",
    "codex_vscode/0.169",
    "codex_vscode/v0.169.0",
    "codex_vscode/0.169.0.1",
    "codex_vscode/00.169.0",
    "codex_vscode/0.169.0-",
    "codex_vscode/0.169.0-al_pha",
    "codex_vscode/0.169.0+build",
    "codex_vscode/0.169.0\u0000 (x)",
    "codex_vscode/0.169.0\u202e (x)",
    'codex_vscode/0.169.0"} 1\nevil_metric 1',
    `codex_vscode/0.169.0-${"a".repeat(100)}`,
    `codex_vscode/${"9".repeat(30)}.0.0`,
    "codex_vscode/-1.0.0",
    "codex_vscode/0.169.0-a.b.c.d.e.f.g.h.i",
    "(Debian 12.0.0; x86_64) codex_vscode/0.169.0",
  ])("finds no version in %j", (ua) => {
    expect(codexVersionFromUserAgent(ua)).toBeNull();
  });

  it("accepts leading whitespace and any following text", () => {
    expect(codexVersionFromUserAgent("  codex_vscode/0.169.0\t(tab)")).toBe("0.169.0");
  });
});

describe("compareCodexVersions", () => {
  it("orders numerically, not as text", () => {
    const sorted = ["0.171.0", "0.9.0", "0.150.0", "1.0.0", "0.169.0", "0.169.10", "0.169.2"].sort(
      compareCodexVersions,
    );
    expect(sorted).toEqual(["0.9.0", "0.150.0", "0.169.0", "0.169.2", "0.169.10", "0.171.0", "1.0.0"]);
  });

  it("puts a prerelease before its release, with semver's identifier rules", () => {
    const sorted = [
      "0.172.0",
      "0.172.0-beta",
      "0.172.0-alpha.10",
      "0.172.0-alpha.2",
      "0.172.0-alpha",
      "0.171.0",
      "0.172.0-alpha.beta",
    ].sort(compareCodexVersions);
    expect(sorted).toEqual([
      "0.171.0",
      "0.172.0-alpha",
      "0.172.0-alpha.2",
      "0.172.0-alpha.10",
      "0.172.0-alpha.beta",
      "0.172.0-beta",
      "0.172.0",
    ]);
  });

  it("is zero for equal versions and puts non-versions first", () => {
    expect(compareCodexVersions("0.169.0", "0.169.0")).toBe(0);
    expect(compareCodexVersions("garbage", "0.0.0")).toBeLessThan(0);
    expect(compareCodexVersions("0.0.0", "garbage")).toBeGreaterThan(0);
    expect(compareCodexVersions("x", "y")).toBe(0);
  });
});

describe("isBelowCodexFloor", () => {
  it("flags only known versions older than the floor", () => {
    expect(SUPPORTED_CODEX_FLOOR).toBe("0.150.0");
    expect(isBelowCodexFloor("0.149.9")).toBe(true);
    expect(isBelowCodexFloor("0.150.0-rc.1")).toBe(true);
    expect(isBelowCodexFloor("0.150.0")).toBe(false);
    expect(isBelowCodexFloor("0.171.0")).toBe(false);
    expect(isBelowCodexFloor(null)).toBe(false);
    expect(isBelowCodexFloor("not a version")).toBe(false);
    expect(isBelowCodexFloor("0.169.0", "0.170.0")).toBe(true);
  });
});
