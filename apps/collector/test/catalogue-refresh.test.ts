/**
 * The optional catalogue refresh against a real HTTP server on port 0: a good copy is handed over
 * with its version; a bad answer, an HTTP error or a server that never answers (timeout) keeps
 * the catalogue in force and is logged once per failure streak.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Catalogue } from "@codex-fleet/pricing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogueRefresh } from "../src/catalogue-refresh.ts";

const GOOD = [
  {
    id: "openai",
    name: "OpenAI",
    api_pattern: "x",
    models: [{ id: "gpt-9", match: { equals: "gpt-9" }, prices: { input_mtok: 1, output_mtok: 2 } }],
  },
];

let server: Server;
let base: string;
let answer: "good" | "bad" | "500" | "hang" = "good";

beforeAll(async () => {
  server = createServer((_req, res) => {
    if (answer === "hang") return; // never answers
    if (answer === "500") {
      res.writeHead(500).end("no");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(answer === "good" ? JSON.stringify(GOOD) : '{"not": "providers"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data.json`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function refresher() {
  const got: Catalogue[] = [];
  const warns: unknown[] = [];
  const job = new CatalogueRefresh({
    // Disabled: runOnce is called by hand and schedules nothing.
    refresh: { enabled: false, url: base, timeoutMs: 300, intervalMs: 3_600_000 },
    log: { info: () => {}, debug: () => {}, warn: (o: unknown) => warns.push(o) },
    onCatalogue: (c) => got.push(c),
    now: () => Date.UTC(2026, 11, 6, 9),
  });
  return { job, got, warns };
}

describe("catalogue refresh", () => {
  it("does hand over a good copy with its version", async () => {
    answer = "good";
    const { job, got, warns } = refresher();
    expect(await job.runOnce()).toBe(true);
    expect(got.map((c) => c.version)).toEqual(["genai-prices@refresh-2026-12-06"]);
    expect(job.lastVersion).toBe("genai-prices@refresh-2026-12-06");
    expect(warns).toEqual([]);
  });

  it.each([
    ["bad data", "bad", /array/],
    ["an HTTP error", "500", /HTTP 500/],
    ["no answer within the timeout", "hang", /abort|timeout/i],
  ] as const)("does keep what is in force on %s, and warn once per streak", async (_name, kind, reason) => {
    answer = kind;
    const { job, got, warns } = refresher();
    expect(await job.runOnce()).toBe(false);
    expect(await job.runOnce()).toBe(false);
    expect(got).toEqual([]);
    expect(warns).toHaveLength(1);
    expect(String((warns[0] as { reason: string }).reason)).toMatch(reason);
    // A success ends the streak; the next failure warns again.
    answer = "good";
    expect(await job.runOnce()).toBe(true);
    answer = kind;
    expect(await job.runOnce()).toBe(false);
    expect(warns).toHaveLength(2);
  });
});
