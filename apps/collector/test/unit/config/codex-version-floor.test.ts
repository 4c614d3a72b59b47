import { SUPPORTED_CODEX_FLOOR } from "@codex-fleet/protocol/codex-version";
import { afterAll, describe, expect, it } from "vitest";
import { errorOf, loadFile, removeScratchDirs } from "../../support/config-files.ts";

afterAll(removeScratchDirs);

describe("config codexVersionFloor", () => {
  it("defaults to the supported floor", async () => {
    expect((await loadFile("targets: []")).config.codexVersionFloor).toBe(SUPPORTED_CODEX_FLOOR);
    expect(SUPPORTED_CODEX_FLOOR).toBe("0.150.0");
  });

  it("takes a version", async () => {
    expect((await loadFile('codexVersionFloor: "0.169.0"')).config.codexVersionFloor).toBe("0.169.0");
  });

  it.each(["v0.169.0", "0.169", "latest", "0.169.0 ", ""])("refuses %j with the key named", async (floor) => {
    expect(await errorOf(loadFile(`codexVersionFloor: ${JSON.stringify(floor)}`))).toContain(
      "codexVersionFloor: must be a codex version like 0.150.0",
    );
  });
});
