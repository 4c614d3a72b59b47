/**
 * The codex version matrix is installed: each version's npm alias holds its launcher and the
 * native binary for this platform (`codex --version` says so), and the floor the harness tests is
 * the floor the collector enforces.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SUPPORTED_CODEX_FLOOR } from "@codex-fleet/protocol/codex-version";
import { describe, expect, it } from "vitest";
import {
  CODEX_BEHAVIOUR,
  CODEX_VERSION_FLOOR,
  CODEX_VERSIONS,
  codexBin,
  DEFAULT_CODEX_VERSION,
  testedCodexVersions,
} from "../src/app-server.ts";

const run = promisify(execFile);

describe("codex version matrix", () => {
  it.each(CODEX_VERSIONS)("runs the installed codex %s", async (version) => {
    const { stdout } = await run(process.execPath, [codexBin(version), "--version"], { timeout: 20_000 });
    expect(stdout.trim()).toBe(`codex-cli ${version}`);
  });

  it("tests from the collector's supported floor up, oldest first, with the default among them", () => {
    expect(CODEX_VERSION_FLOOR).toBe(SUPPORTED_CODEX_FLOOR);
    expect([...CODEX_VERSIONS]).toEqual(["0.150.0", "0.169.0", "0.171.0"]);
    expect(CODEX_VERSIONS).toContain(DEFAULT_CODEX_VERSION);
    expect(Object.keys(CODEX_BEHAVIOUR).sort()).toEqual([...CODEX_VERSIONS].sort());
  });

  it("picks a subset from CODEX_VERSIONS and refuses a version that is not installed", () => {
    expect(testedCodexVersions(undefined)).toEqual([...CODEX_VERSIONS]);
    expect(testedCodexVersions("")).toEqual([...CODEX_VERSIONS]);
    expect(testedCodexVersions("0.171.0, 0.150.0")).toEqual(["0.171.0", "0.150.0"]);
    expect(() => testedCodexVersions("0.160.0")).toThrow(/CODEX_VERSIONS names 0\.160\.0, not one of/);
  });
});
