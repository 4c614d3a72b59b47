import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.ts";
import { Secret } from "../../../src/config/secret.ts";
import { errorOf, loadFile, removeScratchDirs, scratch } from "../../support/config-files.ts";

afterAll(removeScratchDirs);

describe("loadConfig: target tokens and CA", () => {
  it.each([
    ["a token file (trimmed)", "tokenFile: t.token", {}, "secret-from-file"],
    ["a token variable", "tokenEnv: ALICE_TOKEN", { ALICE_TOKEN: "secret-from-env" }, "secret-from-env"],
    ["a token variable with a trailing newline", "tokenEnv: ALICE_TOKEN", { ALICE_TOKEN: "abc\n" }, "abc"],
    ["no token at all", "", {}, null],
  ])("does resolve %s", async (_name, tokenKey, env, expected) => {
    const text = `targets: [{ name: alice, url: 'wss://alice.example.com', ${tokenKey} }]`;
    const { config } = await loadFile(text, { env, files: { "t.token": "\nsecret-from-file\n\n" } });
    expect(config.targets[0]?.token?.reveal() ?? null).toBe(expected);
  });

  it.each([
    [
      "a missing token file",
      "tokenFile: missing.token",
      {},
      (dir: string) => `targets[0].tokenFile: cannot read ${join(dir, "missing.token")} (ENOENT)`,
    ],
    [
      "an empty token file",
      "tokenFile: empty.token",
      {},
      (dir: string) => `targets[0].tokenFile: ${join(dir, "empty.token")} is empty`,
    ],
    [
      "a token file that is a directory",
      "tokenFile: .",
      {},
      (dir: string) => `targets[0].tokenFile: cannot read ${dir} (EISDIR)`,
    ],
    [
      "an unset token variable",
      "tokenEnv: ALICE_TOKEN",
      {},
      () => "targets[0].tokenEnv: environment variable ALICE_TOKEN is unset or empty",
    ],
    [
      "a blank token variable",
      "tokenEnv: ALICE_TOKEN",
      { ALICE_TOKEN: "  " },
      () => "targets[0].tokenEnv: environment variable ALICE_TOKEN is unset or empty",
    ],
    [
      "a missing CA file",
      "caFile: nope.pem",
      {},
      (dir: string) => `targets[0].caFile: cannot read ${join(dir, "nope.pem")} (ENOENT)`,
    ],
    [
      "a CA file that is not PEM",
      "caFile: empty.token",
      {},
      (dir: string) => `targets[0].caFile: ${join(dir, "empty.token")} is not a PEM certificate`,
    ],
  ])("does name the key for %s", async (_name, key, env, expected) => {
    const dir = await scratch({
      "fleet.yaml": `targets: [{ name: alice, url: 'wss://alice.example.com', ${key} }]`,
      "empty.token": " \n",
    });
    const message = await errorOf(loadConfig({ argv: ["--config", "fleet.yaml"], env, cwd: dir }));
    expect(message).toBe(`config error in fleet.yaml: ${expected(dir)}`);
  });

  it("does report token problems of all targets in key order", async () => {
    const targets = Array.from(
      { length: 11 },
      (_, i) => `{ name: t${i}, url: 'ws://localhost:1', tokenEnv: T${i} }`,
    );
    const dir = await scratch({ "fleet.yaml": `targets: [${targets.join(", ")}]` });
    const env = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`T${i}`, i % 5 === 0 ? "" : "ok"]));
    const message = await errorOf(loadConfig({ argv: ["--config", "fleet.yaml"], env, cwd: dir }));
    expect(message.split("\n")).toEqual(
      [0, 5, 10].map(
        (i) =>
          `config error in fleet.yaml: targets[${i}].tokenEnv: environment variable T${i} is unset or empty`,
      ),
    );
  });

  it("does report an unset notifier secret variable", async () => {
    const text = "alerts: { notify: [{ type: webhook, url: 'https://h/x', secretEnv: HOOK_SECRET }] }";
    const dir = await scratch({ "fleet.yaml": text });
    expect(await errorOf(loadConfig({ argv: ["--config", "fleet.yaml"], env: {}, cwd: dir }))).toBe(
      "config error in fleet.yaml: alerts.notify[0].secretEnv: environment variable HOOK_SECRET is unset or empty",
    );
  });
});

describe("loadConfig: tokens stay private on the wire (DESIGN.md rule 7)", () => {
  it.each([
    ["wss:// to a remote host", "wss://dev.example.com:4500", false],
    ["ws:// to 127.0.0.1", "ws://127.0.0.1:4500", false],
    ["ws:// to 127.8.9.10", "ws://127.8.9.10:4500", false],
    ["ws:// to localhost", "ws://localhost:4500", false],
    ["ws:// to LOCALHOST", "ws://LOCALHOST:4500", false],
    ["ws:// to [::1]", "ws://[::1]:4500", false],
    ["ws:// to a remote host with allowInsecure", "ws://10.0.0.5:4500", true],
  ])("does accept a token over %s", async (_name, url, allowInsecure) => {
    const text = `targets: [{ name: a, url: '${url}', tokenEnv: T, allowInsecure: ${allowInsecure} }]`;
    const { config } = await loadFile(text, { env: { T: "tok" } });
    expect(config.targets[0]?.token?.reveal()).toBe("tok");
  });

  it("does accept plain ws:// to a remote host when there is no token to leak", async () => {
    const { config } = await loadFile("targets: [{ name: a, url: 'ws://10.0.0.5:4500' }]");
    expect(config.targets[0]?.token).toBeNull();
  });

  it.each([
    ["ws:// to 128.0.0.1", "ws://128.0.0.1:1"],
    ["ws:// to localhost.example.com", "ws://localhost.example.com:1"],
    ["ws:// to [::2]", "ws://[::2]:1"],
  ])("does refuse a token over %s", async (_name, url) => {
    const dir = await scratch({ "fleet.yaml": `targets: [{ name: a, url: '${url}', tokenEnv: T }]` });
    const message = await errorOf(
      loadConfig({ argv: ["--config", "fleet.yaml"], env: { T: "tok" }, cwd: dir }),
    );
    expect(message).toMatch(
      /^config error in fleet\.yaml: targets\[0\]\.url: refusing to send a bearer token/,
    );
  });
});

describe("Secret redaction", () => {
  const TOKEN = "tok-3f9a1c-super-secret";

  it("does keep tokens out of JSON.stringify and util.inspect of the whole config", async () => {
    const text =
      "targets: [{ name: a, url: 'ws://127.0.0.1:1', tokenEnv: T }]\nalerts: { notify: [{ type: webhook, url: 'https://h', secretEnv: S }] }";
    const { config } = await loadFile(text, { env: { T: TOKEN, S: `${TOKEN}-hook` } });
    const json = JSON.stringify(config);
    const inspected = inspect(config, { depth: null, showHidden: true });
    for (const printed of [json, inspected]) {
      expect(printed).not.toContain(TOKEN);
      expect(printed).toContain("[redacted]");
    }
    expect(JSON.parse(json).targets[0].token).toBe("[redacted]");
    expect(config.targets[0]?.token?.reveal()).toBe(TOKEN);
  });

  it.each([
    ["String()", (s: Secret) => String(s)],
    ["a template literal", (s: Secret) => `${s}`],
    ["string concatenation", (s: Secret) => ("" as unknown as Secret & string) + s],
    ["JSON.stringify", (s: Secret) => JSON.parse(JSON.stringify({ s })).s],
    ["util.inspect", (s: Secret) => inspect(s)],
    [
      "util.inspect with showHidden",
      (s: Secret) => inspect({ s }, { showHidden: true }).replace(/[{}\s]|s:/g, ""),
    ],
    ["Object.keys", (s: Secret) => (Object.keys(s).length === 0 ? "[redacted]" : "leak")],
    ["structuredClone", (s: Secret) => (JSON.stringify(structuredClone(s)) === "{}" ? "[redacted]" : "leak")],
  ])("does print [redacted] through %s", (_name, print) => {
    expect(print(new Secret(TOKEN))).toBe("[redacted]");
  });
});
