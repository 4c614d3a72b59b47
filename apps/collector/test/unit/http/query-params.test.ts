/**
 * The query-parameter schemas parse what a client sends (strings, a repeated key as an array) to
 * typed values, and refuse with today's words, one issue naming the parameter.
 */
import { describe, expect, it } from "vitest";
import { badParamOf, eachOf, noQuery, qp, query } from "../../../src/http/params.ts";

const schema = query({
  name: qp.string("A name", 5),
  team: qp.list(
    "Teams",
    eachOf((t) => t !== "nobody", "any team but nobody"),
  ),
  from: qp.time("From"),
  limit: qp.int("Limit", 1, 10),
  state: qp.enum(["open", "all"], "State"),
  format: qp.format,
});

/** The 400 describeRoute answers: [parameter, message without the parameter's prefix]. */
function refusal(input: Record<string, unknown>): [string, string] | null {
  const parsed = schema.safeParse(input);
  if (parsed.success) return null;
  const err = badParamOf(parsed.error.issues);
  return [err.param ?? "", err.message.slice(`${err.param}: `.length)];
}

describe("query parameter schemas", () => {
  it("does parse each shape to its value, with format json by default", () => {
    expect(
      schema.parse({ name: "ab", team: " a, b,,a ", from: "1970-01-01T00:00:01Z", limit: "7", state: "all" }),
    ).toEqual({ name: "ab", team: ["a", "b"], from: 1000, limit: 7, state: "all", format: "json" });
    expect(schema.parse({ from: "1800000000000", format: "csv" })).toEqual({
      from: 1_800_000_000_000,
      format: "csv",
    });
  });

  it.each<[string, Record<string, unknown>, [string, string]]>([
    ["a repeated string", { name: ["a", "b"] }, ["name", "must be given once"]],
    ["a long string", { name: "abcdef" }, ["name", "must be at most 5 characters"]],
    ["a repeated list", { team: ["a", "b"] }, ["team", "must be given once"]],
    ["an empty list", { team: " , ," }, ["team", "must not be empty"]],
    [
      "a list of 201 values",
      { team: Array.from({ length: 201 }, (_, i) => `t${i}`).join(",") },
      ["team", "at most 200 values"],
    ],
    ["a refused list item", { team: "a,nobody" }, ["team", "'nobody' is not one of any team but nobody"]],
    [
      "an unreadable time",
      { from: "yesterday" },
      ["from", "'yesterday' is not an ISO 8601 time or epoch milliseconds between 1970-01-01 and 9999-12-31"],
    ],
    ["a repeated integer", { limit: ["1", "2"] }, ["limit", "must be given once"]],
    ["a decimal", { limit: "1.5" }, ["limit", "must be an integer"]],
    ["a hex integer", { limit: "0x5" }, ["limit", "must be an integer"]],
    ["an empty integer", { limit: "" }, ["limit", "must be an integer"]],
    ["an integer out of range", { limit: "11" }, ["limit", "must be between 1 and 10"]],
    ["a long integer", { limit: "1".repeat(21) }, ["limit", "must be at most 20 characters"]],
    ["an unknown enum member", { state: "closed" }, ["state", "must be one of open, all"]],
    ["a repeated enum", { state: ["open", "all"] }, ["state", "must be given once"]],
    ["an unknown format", { format: "pdf" }, ["format", "must be one of json, csv"]],
    [
      "an unknown parameter before a bad value",
      { limit: "x", colour: "red" },
      ["colour", "unknown parameter (known: name, team, from, limit, state, format)"],
    ],
  ])("does refuse %s naming the parameter", (_name, input, expected) => {
    expect(refusal(input)).toEqual(expected);
  });

  it("does refuse any parameter where none is taken", () => {
    const err = badParamOf(noQuery.safeParse({ b: "1", a: "2" }).error?.issues ?? []);
    expect([err.statusCode, err.code, err.param, err.message]).toEqual([
      400,
      "BAD_PARAMETER",
      "b",
      "b: unknown parameter (known: )",
    ]);
  });
});
