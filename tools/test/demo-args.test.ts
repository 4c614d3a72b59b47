import { describe, expect, it } from "vitest";
import { parseDemoArgs } from "../demo/args.ts";

describe("parseDemoArgs", () => {
  it("does default to 8 developers in 3 teams with 7 days of history", () => {
    expect(parseDemoArgs([])).toMatchObject({
      developers: 8,
      teams: ["payments", "platform", "mobile"],
      historyDays: 7,
      verifySeconds: null,
      port: null,
    });
  });

  it.each([
    [["--verify"], { verifySeconds: 60 }],
    [["--verify=90"], { verifySeconds: 90 }],
    [["--developers", "20", "--teams", "a, b"], { developers: 20, teams: ["a", "b"] }],
    [["--port=0", "--history-days", "0", "--keep"], { port: 0, historyDays: 0, keep: true }],
    [["--turns-per-minute", "6", "--seed", "x"], { turnsPerMinute: 6, seed: "x" }],
  ])("does read %j", (argv, expected) => {
    expect(parseDemoArgs(argv)).toMatchObject(expected);
  });

  it.each([
    [["--developers", "0"], /--developers needs a number/],
    [["--port"], /--port needs a number/],
    [["--verify=1"], /--verify needs a number/],
    [["--teams", " , "], /--teams needs at least one name/],
    [["--frobnicate"], /unknown option --frobnicate/],
  ])("does refuse %j", (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
});
