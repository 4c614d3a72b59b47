/**
 * The writer thread prices with the catalogue it was started with, and with each refreshed copy
 * handed to it afterwards (catalogue-refresh.ts → collector.ts → setCatalogue), against a real
 * Postgres: the version on the stored rows says which one priced them. Likewise for price
 * overrides changed in the dashboard (issue 17: setOverrides).
 */
import { createDb, type Db } from "@codex-fleet/db/client";
import type { UsageReportRow } from "@codex-fleet/db/repositories/ingest-types";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { CATALOGUE_PACKAGE_VERSION, parseRemoteCatalogue } from "@codex-fleet/pricing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWriterThread, type WriterThread } from "../src/ingest/writer-thread.ts";

const copy = (inputUsdPerMTok: number, fetchedAt: string) =>
  parseRemoteCatalogue(
    [
      {
        id: "openai",
        name: "OpenAI",
        api_pattern: "x",
        models: [
          {
            id: "gpt-5.4",
            match: { equals: "gpt-5.4" },
            prices: { input_mtok: inputUsdPerMTok, output_mtok: 0 },
          },
        ],
      },
    ],
    Date.parse(fetchedAt),
  );

const counts = (n: number) => ({
  inputTokens: 1_000_000 * n,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
  totalTokens: 1_000_000 * n,
});
const report = (n: number): UsageReportRow => ({
  threadId: "th",
  turnId: null,
  targetId: "t",
  model: "gpt-5.4",
  repo: "",
  atMs: Date.UTC(2026, 11, 6, 9),
  total: counts(n),
  last: counts(1),
});

let testDb: TestDatabase;
let db: Db;
const threads: WriterThread[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase({ fallbackToEmbedded: false });
  db = createDb({ url: testDb.url, poolMax: 2 });
  await db.pool.query("INSERT INTO target (id, url) VALUES ('t', 'ws://127.0.0.1:1')");
}, 60_000);
afterAll(async () => {
  for (const t of threads) await t.close();
  await db?.close();
  await testDb?.drop();
});

describe("writer thread and the price catalogue", () => {
  it("does price with the snapshot, then with each refreshed copy it is given", async () => {
    const writer = startWriterThread({ url: testDb.url, poolMax: 1, overrides: [] });
    threads.push(writer);
    const write = (n: number) =>
      writer.write({ threads: [], turns: [], owed: [], spans: [], waits: [], usage: [report(n)] });
    await write(1); // 1M input tokens of gpt-5.4: above 271,999 → 5 USD in the snapshot
    writer.setCatalogue(copy(7, "2026-12-06T08:00:00Z"));
    await write(2);
    writer.setCatalogue(copy(9, "2026-12-07T08:00:00Z"));
    await write(3);
    const { rows } = await db.pool.query(
      "SELECT cost_usd::float8 AS cost, price_version AS version FROM usage_event ORDER BY id",
    );
    expect(rows).toEqual([
      { cost: 5, version: `genai-prices@${CATALOGUE_PACKAGE_VERSION}:gpt-5.4` },
      { cost: 7, version: "genai-prices@refresh-2026-12-06:gpt-5.4" },
      { cost: 9, version: "genai-prices@refresh-2026-12-07:gpt-5.4" },
    ]);
  });

  it("does start with a refreshed copy already in force", async () => {
    const writer = startWriterThread({
      url: testDb.url,
      poolMax: 1,
      overrides: [],
      catalogue: copy(11, "2026-12-08T08:00:00Z"),
    });
    threads.push(writer);
    await writer.write({
      threads: [],
      turns: [],
      owed: [],
      spans: [],
      waits: [],
      usage: [{ ...report(4), threadId: "th-2", total: counts(1) }],
    });
    const { rows } = await db.pool.query(
      "SELECT price_version AS version FROM usage_event WHERE thread_id = 'th-2'",
    );
    expect(rows).toEqual([{ version: "genai-prices@refresh-2026-12-08:gpt-5.4" }]);
  });

  it("does price with overrides handed to it, keeping the refreshed catalogue under them", async () => {
    const writer = startWriterThread({
      url: testDb.url,
      poolMax: 1,
      overrides: [],
      catalogue: copy(13, "2026-12-09T08:00:00Z"),
    });
    threads.push(writer);
    const write = (threadId: string) =>
      writer.write({
        threads: [],
        turns: [],
        owed: [],
        spans: [],
        waits: [],
        usage: [{ ...report(1), threadId, total: counts(1) }],
      });
    await writer.setOverrides([
      {
        model: "gpt-5.4",
        effectiveFrom: "2026-12-01",
        inputUsdPerMTok: 2,
        cachedInputUsdPerMTok: 0.2,
        outputUsdPerMTok: 8,
      },
    ]);
    await write("th-3");
    await writer.setOverrides([]);
    await write("th-4");
    const { rows } = await db.pool.query(
      "SELECT thread_id, cost_usd::float8 AS cost, price_version AS version FROM usage_event WHERE thread_id IN ('th-3', 'th-4') ORDER BY thread_id",
    );
    expect(rows).toEqual([
      { thread_id: "th-3", cost: 2, version: "override:2026-12-01:gpt-5.4" },
      { thread_id: "th-4", cost: 13, version: "genai-prices@refresh-2026-12-09:gpt-5.4" },
    ]);
  });
});
