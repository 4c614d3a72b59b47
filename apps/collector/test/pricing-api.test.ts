/**
 * GET /api/v1/pricing over HTTP (issue 14): the catalogue version in force, the overrides, the
 * unpriced models seen, and — after a restart with an override changed for a past date — the
 * re-pricing's progress; usage written by the product's ingest path with the real pricer into a
 * real Postgres. Also: the config keys of `pricing.catalogue.refresh` and their errors.
 */
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import type { UsageReportRow } from "@codex-fleet/db/repositories/ingest-types";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { CATALOGUE_PACKAGE_VERSION, createPricer } from "@codex-fleet/pricing";
import { PricingResponseSchema } from "@codex-fleet/protocol/pricing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { errorOf, loadFile, removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
const apps: AuthApp[] = [];

const YAML = (overrides: string) =>
  [
    "server: { host: 127.0.0.1 }",
    "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
    "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }]",
    `pricing: { overrides: [${overrides}] }`,
  ].join("\n");
const ACME =
  "{ model: acme-coder, effectiveFrom: 2026-01-01, inputUsdPerMTok: 1, cachedInputUsdPerMTok: 0.1, outputUsdPerMTok: 2, cacheWriteUsdPerMTok: 1.25 }";
const GPT55 =
  "{ model: gpt-5.5, effectiveFrom: 2026-10-01, inputUsdPerMTok: 4, cachedInputUsdPerMTok: 0.4, outputUsdPerMTok: 24 }";

const tokens = (n: number) => ({
  inputTokens: 1000 * n,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 100 * n,
  reasoningOutputTokens: 0,
  totalTokens: 1100 * n,
});

async function start(overrides: string): Promise<AuthApp> {
  const app = await startAuthApp({ db: testDb, yaml: YAML(overrides) });
  apps.push(app);
  return app;
}

const get = (app: AuthApp, url: string, token: string | null = VIEWER_TOKEN) =>
  app.app.inject({ method: "GET", url, headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  testDb = await createTestDatabase();
}, 60_000);

afterAll(async () => {
  for (const app of apps) await app.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("GET /api/v1/pricing", () => {
  it("does show the catalogue, the overrides and the unpriced models to a viewer", async () => {
    const app = await start(ACME);
    const pricer = createPricer(app.config.pricing.overrides);
    const usage: UsageReportRow[] = [
      ["th-1", "gpt-5.5", Date.UTC(2026, 10, 2, 9)],
      ["th-2", "mystery-model", Date.UTC(2026, 10, 2, 10)],
    ].map(([threadId, model, atMs]) => ({
      threadId: String(threadId),
      turnId: `${threadId}/u1`,
      targetId: "alice",
      model: String(model),
      repo: "",
      atMs: Number(atMs),
      total: tokens(1),
      last: tokens(1),
    }));
    await writeIngestBatch({
      pool: app.db.pool,
      threads: [],
      turns: [],
      usage,
      price: (m, a, t, r) => pricer.price(m, a, t, r),
    });

    const res = await get(app, "/api/v1/pricing");
    expect(res.statusCode).toBe(200);
    const body = PricingResponseSchema.strict().parse(res.json());
    expect(body.catalogue).toEqual({
      version: `genai-prices@${CATALOGUE_PACKAGE_VERSION}`,
      date: "2026-09-23",
      source: "snapshot",
      refreshEnabled: false,
    });
    expect(body.overrides).toEqual([
      {
        id: null,
        source: "config",
        shadowed: false,
        createdBy: null,
        createdAt: null,
        model: "acme-coder",
        effectiveFrom: "2026-01-01",
        inputUsdPerMTok: 1,
        cachedInputUsdPerMTok: 0.1,
        outputUsdPerMTok: 2,
        cacheWriteUsdPerMTok: 1.25,
        longContext: null,
      },
    ]);
    expect(body.repricing).toBeNull(); // the first start records the set, re-prices nothing
    expect(body.unpriced).toEqual([
      { model: "mystery-model", unpricedTokens: 1100, lastSeenAt: "2026-11-02T10:00:00.000Z" },
    ]);
    const { rows } = await app.db.pool.query("SELECT model, price_version FROM usage_event ORDER BY model");
    expect(rows).toEqual([
      { model: "gpt-5.5", price_version: `genai-prices@${CATALOGUE_PACKAGE_VERSION}:gpt-5.5` },
      { model: "mystery-model", price_version: "unpriced" },
    ]);
    await app.stop();
  });

  it("does report the re-pricing after a restart with an override for a past date", async () => {
    const app = await start(`${ACME}, ${GPT55}`);
    const body = PricingResponseSchema.parse((await get(app, "/api/v1/pricing")).json());
    expect(body.repricing).toMatchObject({
      changes: [{ model: "gpt-5.5", fromDate: "2026-10-01" }],
      rowsTotal: 1,
    });
    // The background job ends on its own.
    await expect
      .poll(async () => PricingResponseSchema.parse((await get(app, "/api/v1/pricing")).json()).repricing, {
        timeout: 10_000,
      })
      .toMatchObject({ status: "done", rowsDone: 1, rowsChanged: 1 });
    const { rows } = await app.db.pool.query("SELECT price_version FROM usage_event WHERE model = 'gpt-5.5'");
    expect(rows).toEqual([{ price_version: "override:2026-10-01:gpt-5.5" }]);
  });

  it.each([
    ["an unknown parameter", "/api/v1/pricing?x=1", VIEWER_TOKEN, 400],
    ["no credentials", "/api/v1/pricing", null, 401],
  ])("does refuse %s", async (_name, url, token, status) => {
    const app = apps[apps.length - 1];
    if (!app) throw new Error("no app");
    expect((await get(app, url, token)).statusCode).toBe(status);
  });
});

describe("pricing.catalogue.refresh config", () => {
  it("is off by default, with the maintainers' URL and a 10 s timeout", async () => {
    const { config } = await loadFile("targets: []\n");
    expect(config.pricing.catalogue.refresh).toEqual({
      enabled: false,
      url: "https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/new_data/v2/data.json",
      timeoutMs: 10_000,
      intervalMs: 86_400_000,
    });
  });

  it.each([
    ["pricing: { catalogue: { refresh: { enabled: yes please } } }", "pricing.catalogue.refresh.enabled"],
    ["pricing: { catalogue: { refresh: { url: 'ftp://x/y.json' } } }", "pricing.catalogue.refresh.url"],
    ["pricing: { catalogue: { refresh: { timeoutMs: 10 } } }", "pricing.catalogue.refresh.timeoutMs"],
    ["pricing: { catalogue: { refresh: { intervalMs: 1000 } } }", "pricing.catalogue.refresh.intervalMs"],
    ["pricing: { catalogue: { refrsh: {} } }", "pricing.catalogue.refrsh"],
    // The Usage page's snippet pasted unedited (PricingNote overrideSnippet): refused, never $0.
    [
      "pricing:\n  overrides:\n    - { model: mock-model, effectiveFrom: 2026-12-06, inputUsdPerMTok: <USD>, cachedInputUsdPerMTok: <USD>, outputUsdPerMTok: <USD> }",
      "pricing.overrides[0].inputUsdPerMTok",
    ],
    [
      "pricing: { overrides: [{ model: m, effectiveFrom: 2026-01-01, inputUsdPerMTok: 1, cachedInputUsdPerMTok: 1, outputUsdPerMTok: 1, longContext: { inputUsdPerMTok: 2 } }] }",
      "pricing.overrides[0].longContext",
    ],
  ])("refuses %s naming the key", async (yaml, key) => {
    expect(await errorOf(loadFile(`targets: []\n${yaml}\n`))).toContain(key);
  });
});
