/**
 * Price overrides added through the API (issue 17): validation 400s naming the field, admin only,
 * stored in Postgres; adding and removing one re-prices the affected history through the
 * re-pricing job; config overrides win over a stored one of the same model and date (409 on add,
 * shown as shadowed and not applied when the config file gains one later). Usage is written by
 * the product's ingest path into a real Postgres.
 */
import { writeIngestBatch } from "@codex-fleet/db/repositories/ingest-repository";
import { insertPriceOverride } from "@codex-fleet/db/repositories/price-overrides-repository";
import { createTestDatabase, type TestDatabase } from "@codex-fleet/db/testing";
import { CATALOGUE_PACKAGE_VERSION, createPricer } from "@codex-fleet/pricing";
import {
  PriceOverrideChangeSchema,
  PriceOverridesResponseSchema,
  PricingResponseSchema,
} from "@codex-fleet/protocol/pricing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, type AuthApp, startAuthApp, VIEWER_TOKEN } from "./support/auth-app.ts";
import { removeScratchDirs } from "./support/config-files.ts";

let testDb: TestDatabase;
let app: AuthApp;
const apps: AuthApp[] = [];

const YAML = (overrides: string) =>
  [
    "server: { host: 127.0.0.1 }",
    "auth: { mode: 'on', adminTokenEnv: ADMIN_TOKEN, viewerTokenEnv: VIEWER_TOKEN }",
    "targets: [{ name: alice, team: payments, url: 'ws://127.0.0.1:1' }]",
    `pricing: { overrides: [${overrides}] }`,
  ].join("\n");
const ACME =
  "{ model: acme-coder, effectiveFrom: 2026-01-01, inputUsdPerMTok: 1, cachedInputUsdPerMTok: 0.1, outputUsdPerMTok: 2 }";

const GPT55 = {
  model: "gpt-5.5",
  effectiveFrom: "2026-10-01",
  inputUsdPerMTok: 4,
  cachedInputUsdPerMTok: 0.4,
  outputUsdPerMTok: 24,
};

async function start(overrides: string): Promise<AuthApp> {
  const a = await startAuthApp({ db: testDb, yaml: YAML(overrides) });
  apps.push(a);
  return a;
}

const call = (method: "GET" | "POST" | "DELETE", url: string, payload?: unknown, token = ADMIN_TOKEN) =>
  app.app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload: payload as object }),
    headers: { authorization: `Bearer ${token}` },
  });

const priceVersions = async () =>
  (
    await app.db.pool.query<{ model: string; price_version: string; cost_usd: string | null }>(
      "SELECT model, price_version, cost_usd::float8::text AS cost_usd FROM usage_event ORDER BY model, id",
    )
  ).rows;

const pricing = async () => PricingResponseSchema.parse((await call("GET", "/api/v1/pricing")).json());

beforeAll(async () => {
  testDb = await createTestDatabase();
  app = await start(ACME);
  // Usage from before and after the override's date, priced as ingest prices it now.
  const pricer = createPricer(app.config.pricing.overrides);
  const total = {
    inputTokens: 1_000_000,
    cachedInputTokens: 0,
    outputTokens: 100_000,
    reasoningOutputTokens: 0,
    totalTokens: 1_100_000,
  };
  await writeIngestBatch({
    pool: app.db.pool,
    threads: [],
    turns: [],
    usage: [
      ["th-old", "gpt-5.5", Date.UTC(2026, 8, 1)],
      ["th-new", "gpt-5.5", Date.UTC(2026, 10, 2)],
      ["th-acme", "acme-coder", Date.UTC(2026, 10, 2)],
    ].map(([threadId, model, atMs]) => ({
      threadId: String(threadId),
      turnId: `${threadId}/u1`,
      targetId: "alice",
      model: String(model),
      repo: "",
      atMs: Number(atMs),
      total,
      last: total,
    })),
    price: (m, a, t, r) => pricer.price(m, a, t, r),
  });
}, 60_000);

afterAll(async () => {
  for (const a of apps) await a.stop();
  await testDb?.drop();
  await removeScratchDirs();
});

describe("price overrides through the API", () => {
  it.each([
    [{}, "model"],
    [{ ...GPT55, model: "  " }, "model"],
    [{ ...GPT55, effectiveFrom: "1 Oct 2026" }, "effectiveFrom"],
    [{ ...GPT55, outputUsdPerMTok: "24" }, "outputUsdPerMTok"],
    [{ ...GPT55, cachedInputUsdPerMTok: -0.1 }, "cachedInputUsdPerMTok"],
    [{ ...GPT55, longContext: { inputUsdPerMTok: 1 } }, "longContext.aboveInputTokens"],
    [{ ...GPT55, currency: "EUR" }, "currency"],
  ])("does answer %j with a 400 naming %s", async (body, param) => {
    const res = await call("POST", "/api/v1/pricing/overrides", body);
    expect([res.statusCode, res.json().error?.param]).toEqual([400, param]);
    expect(res.json().error.message).toContain(param);
  });

  it("does refuse a viewer's change but show a viewer the list", async () => {
    expect((await call("POST", "/api/v1/pricing/overrides", GPT55, VIEWER_TOKEN)).statusCode).toBe(403);
    expect((await call("DELETE", "/api/v1/pricing/overrides/1", undefined, VIEWER_TOKEN)).statusCode).toBe(
      403,
    );
    const res = await call("GET", "/api/v1/pricing/overrides", undefined, VIEWER_TOKEN);
    expect(res.statusCode).toBe(200);
    expect(PriceOverridesResponseSchema.parse(res.json()).overrides).toMatchObject([
      { source: "config", id: null, model: "acme-coder", shadowed: false },
    ]);
  });

  it("does refuse an override the config file has for the same model and date (config wins)", async () => {
    const res = await call("POST", "/api/v1/pricing/overrides", {
      model: "ACME-coder",
      effectiveFrom: "2026-01-01",
      inputUsdPerMTok: 9,
      cachedInputUsdPerMTok: 9,
      outputUsdPerMTok: 9,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.message).toContain("config");
  });

  it("does re-price the affected history when one is added, and again when it is removed", async () => {
    const before = await priceVersions();
    const catalogueVersion = `genai-prices@${CATALOGUE_PACKAGE_VERSION}:gpt-5.5`;
    expect(before.filter((r) => r.model === "gpt-5.5").map((r) => r.price_version)).toEqual([
      catalogueVersion,
      catalogueVersion,
    ]);

    const res = await call("POST", "/api/v1/pricing/overrides", GPT55);
    expect(res.statusCode).toBe(201);
    const added = PriceOverrideChangeSchema.parse(res.json());
    expect(added.override).toMatchObject({
      ...GPT55,
      source: "ui",
      shadowed: false,
      createdBy: "admin token",
    });
    expect(added.repricing).toMatchObject({
      changes: [{ model: "gpt-5.5", fromDate: "2026-10-01" }],
      rowsTotal: 1,
    });
    await expect.poll(async () => (await pricing()).repricing?.status, { timeout: 10_000 }).toBe("done");
    // Only the row from the override's date on: 1M input × $4 + 0.1M output × $24 = $6.40.
    expect((await priceVersions()).filter((r) => r.model === "gpt-5.5")).toEqual([
      { model: "gpt-5.5", price_version: catalogueVersion, cost_usd: before[1]?.cost_usd },
      { model: "gpt-5.5", price_version: "override:2026-10-01:gpt-5.5", cost_usd: "6.4" },
    ]);
    // The one in force shows on the pricing page, with its source.
    expect((await pricing()).overrides.map((o) => [o.source, o.model])).toEqual([
      ["config", "acme-coder"],
      ["ui", "gpt-5.5"],
    ]);
    // A second one for the same model and date is a conflict.
    expect((await call("POST", "/api/v1/pricing/overrides", GPT55)).statusCode).toBe(409);

    const removed = await call("DELETE", `/api/v1/pricing/overrides/${added.override.id}`);
    expect(removed.statusCode).toBe(200);
    expect(PriceOverrideChangeSchema.parse(removed.json()).repricing).toMatchObject({
      changes: [{ model: "gpt-5.5", fromDate: "2026-10-01" }],
    });
    await expect.poll(async () => (await pricing()).repricing?.status, { timeout: 10_000 }).toBe("done");
    expect((await priceVersions()).filter((r) => r.model === "gpt-5.5")).toEqual(
      before.filter((r) => r.model === "gpt-5.5"),
    );
    expect((await call("DELETE", `/api/v1/pricing/overrides/${added.override.id}`)).statusCode).toBe(404);
    // Both changes are in the audit log, newest first, under the admin token.
    const events = (await call("GET", "/api/v1/audit")).json() as {
      action: string;
      subject: string;
      principal: { name: string };
    }[];
    expect(
      events
        .filter((e) => e.action.startsWith("price.override."))
        .map((e) => [e.action, e.subject, e.principal.name]),
    ).toEqual([
      ["price.override.delete", "gpt-5.5 from 2026-10-01", "admin token"],
      ["price.override.create", "gpt-5.5 from 2026-10-01", "admin token"],
    ]);
  });

  it("does keep a stored override the config file gained later, shown shadowed and not applied", async () => {
    await insertPriceOverride({
      pool: app.db.pool,
      model: "acme-coder",
      effectiveFrom: "2026-01-01",
      definition: {
        model: "acme-coder",
        effectiveFrom: "2026-01-01",
        inputUsdPerMTok: 50,
        cachedInputUsdPerMTok: 5,
        outputUsdPerMTok: 50,
      },
      createdBy: "someone",
    });
    await app.stop();
    app = await start(ACME);
    const list = PriceOverridesResponseSchema.parse((await call("GET", "/api/v1/pricing/overrides")).json());
    expect(list.overrides.map((o) => [o.source, o.model, o.shadowed])).toEqual([
      ["config", "acme-coder", false],
      ["ui", "acme-coder", true],
    ]);
    // The config's price stays in force: no re-pricing was scheduled for it at the restart (the
    // latest job is still the removal's), nothing of acme-coder was re-priced at 50.
    expect((await pricing()).repricing?.changes).toEqual([{ model: "gpt-5.5", fromDate: "2026-10-01" }]);
    const acme = (await priceVersions()).find((r) => r.model === "acme-coder");
    expect(acme).toMatchObject({ price_version: "override:2026-01-01:acme-coder", cost_usd: "1.2" });
  });

  it("does show an override added on one collector on another of the same database", async () => {
    const other = await start(ACME);
    const listOn = async (a: AuthApp) =>
      PriceOverridesResponseSchema.parse(
        (
          await a.app.inject({
            method: "GET",
            url: "/api/v1/pricing/overrides",
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          })
        ).json(),
      ).overrides.map((o) => `${o.source}:${o.model}:${o.effectiveFrom}`);
    const res = await call("POST", "/api/v1/pricing/overrides", { ...GPT55, effectiveFrom: "2026-11-15" });
    expect(res.statusCode).toBe(201);
    await expect.poll(() => listOn(other), { timeout: 10_000 }).toContain("ui:gpt-5.5:2026-11-15");
    const { id } = PriceOverrideChangeSchema.parse(res.json()).override;
    expect((await call("DELETE", `/api/v1/pricing/overrides/${id}`)).statusCode).toBe(200);
    await expect.poll(() => listOn(other), { timeout: 10_000 }).not.toContain("ui:gpt-5.5:2026-11-15");
  });
});
