import { describe, expect, it } from "vitest";
import { matchRoute } from "../../../src/lib/router.tsx";

const routes: [string, string][] = [
  ["fleet", "/"],
  ["usage", "/usage"],
  ["thread", "/threads/:id"],
];

describe("matchRoute", () => {
  it.each([
    ["/", { name: "fleet", params: {} }],
    ["/usage", { name: "usage", params: {} }],
    ["/usage/", { name: "usage", params: {} }],
    ["/threads/019a-1", { name: "thread", params: { id: "019a-1" } }],
    ["/threads/a%20b", { name: "thread", params: { id: "a b" } }],
    ["/threads/", null],
    ["/nope", null],
  ])("does match %s", (path, expected) => {
    expect(matchRoute(path, routes)).toEqual(expected);
  });
});
