/**
 * `server.targetSecrets` (issue 17): off by default; the directory must exist (its real path is
 * kept); the prefix is checked; the variables under it are read once, without the collector's own.
 */
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { errorOf, loadFile, removeScratchDirs } from "../../support/config-files.ts";

const dirs: string[] = [];
afterAll(async () => {
  await removeScratchDirs();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("server.targetSecrets", () => {
  it("does default to nothing allowed", async () => {
    const { config } = await loadFile("server: { host: 127.0.0.1 }");
    expect(config.server.targetSecrets).toEqual({ dir: null, envPrefix: null, env: {} });
  });

  it("does keep the directory's real path and the prefixed variables but the collector's own", async () => {
    const real = await mkdtemp(join(tmpdir(), "fleet-secrets-real-"));
    const link = `${real}-link`;
    dirs.push(real, link);
    await symlink(real, link);
    const { config } = await loadFile(
      [
        `server: { targetSecrets: { dir: '${link}', envPrefix: FLEET_T_ } }`,
        "auth: { mode: 'on', adminTokenEnv: FLEET_T_ADMIN }",
      ].join("\n"),
      {
        env: {
          FLEET_T_ALICE: " alice-token ",
          FLEET_T_EMPTY: "",
          FLEET_T_ADMIN: "admin-token-long-enough-1234",
          OTHER: "x",
        },
      },
    );
    expect(config.server.targetSecrets.dir).toBe(real);
    expect(config.server.targetSecrets.envPrefix).toBe("FLEET_T_");
    expect(Object.keys(config.server.targetSecrets.env)).toEqual(["FLEET_T_ALICE"]);
    expect(config.server.targetSecrets.env.FLEET_T_ALICE?.reveal()).toBe("alice-token");
  });

  it.each([
    ["a missing directory", "{ dir: /nonexistent/fleet-tokens }", "server.targetSecrets.dir"],
    ["a short prefix", "{ envPrefix: A }", "server.targetSecrets.envPrefix"],
    ["a prefix that is no variable name", "{ envPrefix: 'A-B-C' }", "server.targetSecrets.envPrefix"],
    ["an unknown key", "{ dirs: /tmp }", "server.targetSecrets.dirs"],
  ])("does refuse %s naming the key", async (_what, value, key) => {
    expect(await errorOf(loadFile(`server: { targetSecrets: ${value} }`))).toContain(key);
  });
});
