import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.ts";
import {
  DESIGN_EXAMPLE_JSON,
  DESIGN_EXAMPLE_YAML,
  EXAMPLE_ENV,
  EXAMPLE_FILES,
  loadFile,
  PEM,
  removeScratchDirs,
  scratch,
} from "../../support/config-files.ts";

afterAll(removeScratchDirs);

describe("loadConfig: good files", () => {
  it("does load DESIGN.md's YAML example with every default filled in", async () => {
    const { dir, config } = await loadFile(DESIGN_EXAMPLE_YAML, { env: EXAMPLE_ENV, files: EXAMPLE_FILES });
    expect(config.source).toBe(join(dir, "fleet.yaml"));
    expect(config.server).toEqual({
      host: "127.0.0.1",
      port: 8080,
      publicUrl: "https://fleet.example.com",
      allowedHosts: [],
      targetSecrets: { dir: null, envPrefix: null, env: {} },
    });
    expect(config.network).toEqual({ allowLinkLocal: false });
    expect(config.cluster).toEqual({ instanceName: null, leaseTtlMs: 15_000 });
    expect(config.database).toEqual({ url: "postgresql://fleet@db:5432/fleet" });
    expect(config.dataDir).toBe(join(dir, ".codex-fleet"));
    expect(config.logLevel).toBe("info");
    expect(config.observer).toEqual({
      idleUnsubscribeMs: 300_000,
      backfillLookbackMs: 86_400_000,
      connectTimeoutMs: 10_000,
      pingIntervalMs: 30_000,
      minBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      stableAfterMs: 30_000,
      maxPayloadBytes: 16_777_216,
      requestTimeoutMs: 30_000,
      maxInvalidPerMinute: 1000,
      maxBytesPerMinute: 256 * 1024 * 1024,
      rateLimitPollMs: 300_000,
      allowLinkLocal: false,
    });
    const [alice, bob] = config.targets;
    expect(alice).toMatchObject({
      name: "alice",
      team: "payments",
      url: "wss://alice-dev.example.com:4500",
      tokenFile: join(dir, "alice.token"),
      labels: {},
      allowInsecure: false,
      ca: PEM,
    });
    expect(alice?.token?.reveal()).toBe("alice-secret-token");
    expect(bob).toMatchObject({ name: "bob", tokenEnv: "BOB_TOKEN", labels: { site: "berlin" }, ca: null });
    expect(bob?.token?.reveal()).toBe("bob-secret-token");
    expect(config.alerts.repeatIntervalMs).toBe(3_600_000);
    expect(config.alerts.rules.map((rule) => [rule.id, rule.kind, rule.severity])).toEqual([
      ["approval-wait", "waitingOnApproval", "warning"],
      ["input-wait", "waitingOnUserInput", "warning"],
      ["stalled", "noProgress", "warning"],
      ["turn-failed", "turnFailed", "critical"],
      ["system-error", "systemError", "warning"],
      ["target-down", "targetUnreachable", "warning"],
      ["budget", "dailySpend", "warning"],
      ["context", "contextWindow", "warning"],
    ]);
    expect(config.alerts.notify.map((n) => [n.type, n.secret?.reveal() ?? null])).toEqual([
      ["webhook", "hook-secret"],
      ["slack", null],
    ]);
    // YAML 1.2 core schema: an unquoted date stays a string (no timestamp conversion).
    expect(config.pricing.overrides).toEqual([
      {
        model: "gpt-5.5",
        effectiveFrom: "2026-10-01",
        inputUsdPerMTok: 5,
        cachedInputUsdPerMTok: 0.5,
        outputUsdPerMTok: 30,
      },
    ]);
  });

  it("does load the same config from JSON as from YAML", async () => {
    const dir = await scratch({
      "fleet.yaml": DESIGN_EXAMPLE_YAML,
      "fleet.json": DESIGN_EXAMPLE_JSON,
      ...EXAMPLE_FILES,
    });
    const load = (file: string) => loadConfig({ argv: ["--config", file], env: EXAMPLE_ENV, cwd: dir });
    const [fromYaml, fromJson] = await Promise.all([load("fleet.yaml"), load("fleet.json")]);
    expect(fromJson.source).toBe(join(dir, "fleet.json"));
    expect(JSON.stringify({ ...fromJson, source: null })).toBe(JSON.stringify({ ...fromYaml, source: null }));
    // JSON.stringify redacts the secrets, so compare them separately.
    expect(fromJson.targets.map((t) => t.token?.reveal())).toEqual([
      "alice-secret-token",
      "bob-secret-token",
    ]);
    expect(fromJson.alerts.notify[0]?.secret?.reveal()).toBe("hook-secret");
  });

  it.each([
    ["JSON content in a .conf file", "fleet.conf", '{ "server": { "port": 9000 } }'],
    ["YAML content in a .conf file", "fleet.conf", "server:\n  port: 9000\n"],
    ["YAML in a .yml file", "fleet.yml", "server: { port: 9000 }"],
    ["JSON with leading whitespace and no extension", "fleet", '\n  {"server": {"port": 9000}}'],
  ])("does detect the format of %s", async (_name, file, text) => {
    const { config } = await loadFile(text, { name: file });
    expect(config.server.port).toBe(9000);
  });

  it("does return a default config with no targets when no config file is given", async () => {
    const cwd = await scratch();
    const config = await loadConfig({ argv: [], env: {}, cwd });
    expect(config).toMatchObject({
      source: null,
      server: { host: "127.0.0.1", port: 8080, publicUrl: null },
      database: { url: null },
      dataDir: join(cwd, ".codex-fleet"),
      targets: [],
      alerts: { repeatIntervalMs: 3_600_000, rules: [], notify: [] },
      pricing: { overrides: [] },
      logLevel: "info",
    });
    expect(config.observer.maxPayloadBytes).toBe(16 * 1024 * 1024);
  });

  it.each([
    ["an empty file", ""],
    ["a file with only comments", "# nothing configured yet\n"],
  ])("does treat %s as all defaults", async (_name, text) => {
    const { config } = await loadFile(text);
    expect(config.server.port).toBe(8080);
    expect(config.targets).toEqual([]);
  });

  it.each([
    ["--config FILE", ["--config", "a.yaml"], {}, 1111],
    ["--config=FILE", ["--config=a.yaml"], {}, 1111],
    ["CODEX_FLEET_CONFIG", [], { CODEX_FLEET_CONFIG: "b.yaml" }, 2222],
    ["--config over CODEX_FLEET_CONFIG", ["--config", "a.yaml"], { CODEX_FLEET_CONFIG: "b.yaml" }, 1111],
    ["the last of two --config", ["--config", "b.yaml", "--verbose", "--config", "a.yaml"], {}, 1111],
    ["an empty CODEX_FLEET_CONFIG as unset", [], { CODEX_FLEET_CONFIG: "" }, 8080],
  ])("does find the file by %s", async (_name, argv, env, port) => {
    const cwd = await scratch({ "a.yaml": "server: { port: 1111 }", "b.yaml": "server: { port: 2222 }" });
    expect((await loadConfig({ argv, env, cwd })).server.port).toBe(port);
  });

  it("does let DATABASE_URL, PORT and HOST override the file", async () => {
    const text = "server: { host: 127.0.0.1, port: 8080 }\ndatabase: { url: postgres://file@db/fleet }\n";
    const env = {
      DATABASE_URL: "postgresql://env@127.0.0.1:5432/fleet",
      PORT: "0",
      HOST: "0.0.0.0",
      // A non-loopback HOST turns authentication on (auth.mode auto), which needs an admin token.
      CODEX_FLEET_ADMIN_TOKEN: "admin-token-0123456789",
    };
    const { config } = await loadFile(text, { env });
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 0 });
    expect(config.database.url).toBe("postgresql://env@127.0.0.1:5432/fleet");
  });

  it("does resolve paths in the file relative to the file's directory", async () => {
    const cwd = await scratch({ "alice.token": "from-cwd" });
    const configDir = await scratch({ "alice.token": "from-config-dir" });
    const text = "dataDir: data\ntargets: [{ name: alice, url: ws://localhost:1, tokenFile: alice.token }]\n";
    await writeFile(join(configDir, "fleet.yaml"), text);
    const config = await loadConfig({ argv: ["--config", join(configDir, "fleet.yaml")], env: {}, cwd });
    expect(config.targets[0]?.token?.reveal()).toBe("from-config-dir");
    expect(config.dataDir).toBe(join(configDir, "data"));
  });

  it("does freeze the result", async () => {
    const { config } = await loadFile("targets: [{ name: a, url: ws://127.0.0.1:1, labels: { x: y } }]");
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.targets)).toBe(true);
    expect(Object.isFrozen(config.targets[0]?.labels)).toBe(true);
    expect(Object.isFrozen(config.observer)).toBe(true);
  });
});
