/**
 * describeRoute validates a route's query with its schema on any Fastify instance (a bare one
 * here): the handler reads the parsed values, and a refusal is today's 400 naming the parameter,
 * cross-field rules of the report window included.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { windowQuerySchema } from "../src/api/window-query.ts";
import { installErrorHandlers } from "../src/http/errors.ts";
import { describeRoute, type ParsedQuery } from "../src/http/openapi.ts";
import { qp, query } from "../src/http/params.ts";

let app: FastifyInstance;
const DAY = 86_400_000;

beforeAll(async () => {
  app = Fastify();
  installErrorHandlers(app);
  const api = app.withTypeProvider<ParsedQuery>();
  const pageSchema = describeRoute({
    tags: ["test"],
    summary: "A page",
    query: query({ limit: qp.int("Page size", 1, 50), team: qp.list("Teams"), format: qp.format }),
    response: { 200: z.unknown() },
  });
  api.get("/page", pageSchema, async (req) => req.query);
  const reportSchema = describeRoute({
    tags: ["test"],
    summary: "A report",
    query: windowQuerySchema(["day", "hour", "team", "rootThread"], (g) =>
      g === "rootThread" ? "not by thread tree here" : null,
    ),
    response: { 200: z.unknown() },
  });
  api.get("/report", reportSchema, async (req) => req.query);
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

async function get(url: string) {
  const res = await app.inject({ method: "GET", url });
  return { status: res.statusCode, body: res.json() };
}

describe("query validation by the route schema", () => {
  it("does hand the handler the parsed query", async () => {
    expect(await get("/page?limit=7&team=a,b,a")).toEqual({
      status: 200,
      body: { limit: 7, team: ["a", "b"], format: "json" },
    });
  });

  it("does resolve the report window and its filters", async () => {
    const from = Date.UTC(2026, 10, 1);
    const { status, body } = await get(
      `/report?from=${new Date(from).toISOString()}&to=${from + DAY}&groupBy=team,day&model=m1&format=csv`,
    );
    expect([status, body]).toEqual([
      200,
      {
        from,
        to: from + DAY,
        groupBy: ["team", "day"],
        format: "csv",
        filters: { model: ["m1"] },
      },
    ]);
    const defaults = await get("/report");
    expect(defaults.body.to - defaults.body.from).toBe(7 * DAY);
  });

  it.each([
    ["/page?limit=ten", "limit", "limit: must be an integer"],
    ["/page?limit=1&limit=2", "limit", "limit: must be given once"],
    ["/page?limit=51", "limit", "limit: must be between 1 and 50"],
    ["/page?team=a&team=b", "team", "team: must be given once"],
    ["/page?limit=x&colour=red", "colour", "colour: unknown parameter (known: limit, team, format)"],
    ["/page?constructor=1", "constructor", "constructor: unknown parameter (known: limit, team, format)"],
    ["/page?__proto__=1", "__proto__", "__proto__: unknown parameter (known: limit, team, format)"],
    ["/report?from=2026-11-02&to=2026-11-01", "from", "from: must be before 'to'"],
    ["/report?from=2025-01-01&to=2026-11-01", "from", "from: the range may span at most 400 days"],
    ["/report?groupBy=day,hour", "groupBy", "groupBy: use day or hour, not both"],
    ["/report?groupBy=week", "groupBy", "groupBy: 'week' is not one of day, hour, team, rootThread"],
    ["/report?groupBy=team,rootThread", "groupBy", "groupBy: not by thread tree here"],
    ["/report?from=9999999999999999", "from", expect.stringContaining("from: '9999999999999999' is not")],
  ])("does answer %s with a 400 naming %s", async (url, param, message) => {
    expect(await get(url)).toEqual({
      status: 400,
      body: { error: { code: "BAD_PARAMETER", message, param } },
    });
  });
});
