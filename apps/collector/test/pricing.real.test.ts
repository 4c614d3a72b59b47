/**
 * Per-response pricing against the real `codex app-server` 0.169.0 (issue 14). The model stand-in
 * serves Responses usage with `input_tokens_details.cache_write_tokens`; the developer's client
 * and the collector see what codex makes of it (measured here: `cacheWriteInputTokens` equals it,
 * and `inputTokens`/`totalTokens` are the Responses `input_tokens`/`total_tokens` unchanged, so
 * cache writes are a part of the input). Each response is priced on its own: a 300K-token request
 * at the long-context rates, the next small one at the base rates; cache writes at their price;
 * the ledger stores them with the request that decided the tier; every frame sent is allowlisted.
 */
import { type AppServer, startAppServer } from "@codex-fleet/codex-fakes/app-server";
import { connectDevClient, type DevClient, type Frame } from "@codex-fleet/codex-fakes/dev-client";
import { type MockModel, startMockModel } from "@codex-fleet/codex-fakes/mock-model";
import { waitUntil } from "@codex-fleet/codex-fakes/wait-until";
import { createDb, type Db } from "@codex-fleet/db/client";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { ALLOWED_CLIENT_METHODS, ALLOWED_CLIENT_NOTIFICATIONS } from "@codex-fleet/protocol/wire";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningCollector, startCollector } from "./support/collector.ts";

// The stand-in's model name (app-server.ts config) priced by an override with both extras.
const PRICES_YAML = [
  "pricing:",
  "  overrides:",
  "    - model: mock-model",
  "      effectiveFrom: 2026-01-01",
  "      inputUsdPerMTok: 2",
  "      cachedInputUsdPerMTok: 0.2",
  "      outputUsdPerMTok: 10",
  "      cacheWriteUsdPerMTok: 2.5",
  "      longContext: { aboveInputTokens: 271999, inputUsdPerMTok: 4, cachedInputUsdPerMTok: 0.4, outputUsdPerMTok: 15, cacheWriteUsdPerMTok: 5 }",
].join("\n");

let mock: MockModel;
let a: AppServer;
let db: TestDatabase;
let pool: Db;
let dev: DevClient;
let collector: RunningCollector;

beforeAll(async () => {
  mock = await startMockModel();
  [a, db] = await Promise.all([
    startAppServer({ modelUrl: mock.baseUrl, name: "pricing-alice" }),
    createTestDatabase(),
  ]);
  pool = createDb({ url: db.url, poolMax: 2 });
  dev = await connectDevClient({ url: a.url, token: a.token, name: "codex_vscode" });
  collector = await startCollector({
    dbUrl: db.url,
    poolMax: db.poolMax,
    targets: [{ name: "alice", team: "payments", url: a.url, token: a.token }],
    extraYaml: PRICES_YAML,
  });
  await waitUntil("alice open", () => collector.fleet.targets.get("alice")?.status.state === "open");
}, 90_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === "fail") {
    console.error(a.stderr().slice(-2000));
    console.error(collector.logs.slice(-40).join(""));
  }
});

afterAll(async () => {
  await collector?.stop().catch(() => {});
  await dev?.close().catch(() => {});
  await a?.dispose();
  await pool?.close().catch(() => {});
  await mock?.close();
  await db?.drop();
}, 30_000);

describe("pricing each model response against the real app-server", () => {
  it("does carry cache writes, and price a long-context request and a small one each at its own tier", async () => {
    // Turn 1: one tool call (a 300K-token request with cache writes), then the final reply (small).
    mock.push(
      {
        kind: "toolCall",
        command: "true",
        usage: { input: 300_000, cached: 100_000, cacheWrite: 50_000, output: 200, reasoning: 50 },
      },
      { kind: "reply", usage: { input: 10_000, cached: 0, cacheWrite: 4_000, output: 100, reasoning: 0 } },
    );
    const threadId = await dev.startThread({ cwd: a.cwd, approvalPolicy: "never" });
    await dev.waitForTurnCompleted(threadId, await dev.startTurn(threadId, "run it"), 60_000);

    // What the developer's own client saw: codex's breakdown of the Responses usage.
    const seen = (dev.notifications("thread/tokenUsage/updated", threadId) as Frame[]).map(
      (f) => (f.params as { tokenUsage: { last: Record<string, number> } }).tokenUsage.last,
    );
    // The first two distinct reports are the two responses (0.169.0 repeats a total after a tool
    // call, and auto-compacts after a context this large: more reports follow, measured).
    const distinct = [...new Map(seen.map((l) => [JSON.stringify(l), l])).values()];
    expect(
      distinct
        .slice(0, 2)
        .map((l) => [l.inputTokens, l.cachedInputTokens, l.cacheWriteInputTokens, l.totalTokens]),
    ).toEqual([
      [300_000, 100_000, 50_000, 300_200],
      [10_000, 0, 4_000, 10_100],
    ]);

    const RESPONSES = "thread_id = $1 AND input_tokens IN (300000, 10000)";
    await waitUntil("both responses in the ledger", async () => {
      const { rows } = await pool.pool.query(
        `SELECT count(*)::int AS n FROM usage_event WHERE ${RESPONSES}`,
        [threadId],
      );
      return rows[0]?.n === 2;
    });
    const { rows } = await pool.pool.query(
      `SELECT input_tokens::int AS input, cache_write_input_tokens::int AS cw, request_input_tokens::int AS req,
              cost_usd::float8 AS cost, price_version AS version
       FROM usage_event WHERE ${RESPONSES} ORDER BY id`,
      [threadId],
    );
    expect(rows).toEqual([
      {
        input: 300_000,
        cw: 50_000,
        req: 300_000,
        // Above 271,999: 150,000 plain × 4 + 100,000 cached × 0.4 + 50,000 written × 5 + 200 out × 15.
        cost: (150_000 * 4 + 100_000 * 0.4 + 50_000 * 5 + 200 * 15) / 1e6,
        version: "override:2026-01-01:mock-model",
      },
      {
        input: 10_000,
        cw: 4_000,
        req: 10_000,
        // Base rates: 6,000 plain × 2 + 4,000 written × 2.5 + 100 out × 10.
        cost: (6_000 * 2 + 4_000 * 2.5 + 100 * 10) / 1e6,
        version: "override:2026-01-01:mock-model",
      },
    ]);

    // The observer stayed read-only: requests and notifications from its allowlists, no answers.
    const sent = collector.sent.get("alice") ?? [];
    expect(sent.length).toBeGreaterThan(0);
    for (const f of sent) {
      expect(f.result === undefined && f.error === undefined).toBe(true);
      const method = String(f.method);
      expect(
        f.id === undefined ? ALLOWED_CLIENT_NOTIFICATIONS.has(method) : ALLOWED_CLIENT_METHODS.has(method),
      ).toBe(true);
    }
  }, 120_000);
});
