import { describe, expect, it } from "vitest";
import { ConfigError, formatPath, suggestKeys } from "../../../src/config/errors.ts";

describe("formatPath", () => {
  it.each([
    [[], ""],
    [["server", "port"], "server.port"],
    [["targets", 1, "url"], "targets[1].url"],
    [["targets", 0, "labels", "my site"], 'targets[0].labels["my site"]'],
    [["targets", 0, "labels", "build-host"], "targets[0].labels.build-host"],
    [["targets", 0, "labels", "1st"], 'targets[0].labels["1st"]'],
    [[0], "[0]"],
  ])("does format %j as %s", (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});

describe("suggestKeys", () => {
  const targetKeys = ["name", "team", "url", "tokenFile", "tokenEnv", "labels", "allowInsecure", "caFile"];
  it.each([
    ["tokenfile", targetKeys, ["tokenFile"]],
    ["tokenFiel", targetKeys, ["tokenFile"]],
    ["lables", targetKeys, ["labels"]],
    ["uri", targetKeys, ["url"]],
    ["token", targetKeys, ["tokenFile", "tokenEnv"]],
    ["allowInsecur", targetKeys, ["allowInsecure"]],
    ["colour", targetKeys, []],
    ["to", targetKeys, []],
    ["idleUnsubscribe", ["idleUnsubscribeMs", "backfillLookbackMs"], ["idleUnsubscribeMs"]],
    ["servr", ["server", "database", "targets"], ["server"]],
    ["port", ["host", "publicUrl"], []],
  ])("does suggest for %s among known keys → %j", (unknown, known, expected) => {
    expect(suggestKeys(unknown, known)).toEqual(expected);
  });
});

describe("ConfigError", () => {
  it("does print one line per issue and no path for file-level issues", () => {
    const error = new ConfigError("fleet.yaml", [
      { path: "targets[1].url", message: "must be a ws:// or wss:// URL" },
      { path: "", message: "invalid YAML: oops" },
    ]);
    expect(error.message).toBe(
      "config error in fleet.yaml: targets[1].url: must be a ws:// or wss:// URL\n" +
        "config error in fleet.yaml: invalid YAML: oops",
    );
    expect(error.code).toBe("CONFIG_INVALID");
  });
});
