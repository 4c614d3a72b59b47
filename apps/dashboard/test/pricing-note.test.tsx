/**
 * The Usage page's price note (issue 14): the catalogue version the figures used, a re-pricing in
 * progress with rows done of total, and the unpriced models with the config lines to price them
 * (placeholders the config refuses, never $0); nothing at all when the endpoint is missing.
 */
import type { PricingResponse } from "@codex-fleet/protocol/pricing";
import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { USAGE_BY_DAY_MODEL, USAGE_BY_MODEL, USAGE_BY_TARGET, usageResponse } from "./fixtures.ts";
import { renderApp } from "./render-app.tsx";
import { type Answer, stubFetch } from "./stub-fetch.ts";

const PRICING: PricingResponse = {
  catalogue: { version: "genai-prices@0.1.8", date: "2026-09-23", source: "snapshot", refreshEnabled: false },
  overrides: [
    {
      id: null,
      source: "config",
      shadowed: false,
      createdBy: null,
      createdAt: null,
      model: "gpt-5.5",
      effectiveFrom: "2026-10-01",
      inputUsdPerMTok: 4,
      cachedInputUsdPerMTok: 0.4,
      outputUsdPerMTok: 24,
      cacheWriteUsdPerMTok: null,
      longContext: null,
    },
  ],
  repricing: {
    status: "running",
    changes: [{ model: "gpt-5.5", fromDate: "2026-10-01" }],
    rowsTotal: 12_000,
    rowsDone: 4_500,
    rowsChanged: 4_500,
    startedAt: "2026-12-06T09:00:00.000Z",
    finishedAt: null,
  },
  unpriced: [{ model: "mock-model", unpricedTokens: 540_000, lastSeenAt: "2026-12-06T08:00:00.000Z" }],
};

function setup(pricing: Answer) {
  const byGroup: Record<string, Answer> = {
    "day,model": { body: usageResponse(USAGE_BY_DAY_MODEL, ["day", "model"]) },
    "target,team": { body: usageResponse(USAGE_BY_TARGET, ["target", "team"]) },
    model: { body: usageResponse(USAGE_BY_MODEL, ["model"]) },
  };
  return stubFetch({
    "GET /api/v1/usage": (url) =>
      byGroup[url.searchParams.get("groupBy") ?? ""] ?? { body: usageResponse([], []) },
    "GET /api/v1/alerts": { body: [] },
    "GET /api/v1/pricing": pricing,
  });
}

describe("Usage page price note", () => {
  it("does say which catalogue and overrides priced the figures, and the re-pricing's progress", async () => {
    setup({ body: PRICING });
    renderApp("/usage");
    const version = await screen.findByTestId("pricing-version", {}, { timeout: 4000 });
    expect(version).toHaveTextContent("genai-prices@0.1.8 (catalogue of 2026-09-23)");
    expect(version).toHaveTextContent("1 override (gpt-5.5 from 2026-10-01)");
    const progress = screen.getByTestId("pricing-repricing");
    expect(progress).toHaveTextContent("gpt-5.5 from 2026-10-01");
    expect(progress).toHaveTextContent("4,500 of 12,000 rows");
  });

  it("does list unpriced models with config lines that cannot price them at $0 by accident", async () => {
    setup({ body: PRICING });
    renderApp("/usage");
    const unpriced = await screen.findByTestId("pricing-unpriced", {}, { timeout: 4000 });
    expect(unpriced).toHaveTextContent("mock-model (540k tokens)");
    expect(unpriced).toHaveTextContent('README, section "Prices" → "Adding a price override"');
    expect(screen.getByTestId("pricing-snippet")).toHaveTextContent("model: mock-model");
    expect(screen.getByTestId("pricing-snippet")).toHaveTextContent("inputUsdPerMTok: <USD>");
  });

  it("does say when history was re-priced, and that every model has a price", async () => {
    setup({
      body: {
        ...PRICING,
        repricing: {
          ...PRICING.repricing,
          status: "done",
          rowsDone: 12_000,
          finishedAt: "2026-12-06T09:05:00.000Z",
        },
        unpriced: [],
      },
    });
    renderApp("/usage");
    expect(await screen.findByTestId("pricing-repriced", {}, { timeout: 4000 })).toHaveTextContent(
      "4,500 rows changed",
    );
    expect(screen.queryByTestId("pricing-repricing")).toBeNull();
    expect(screen.getByTestId("pricing-note")).toHaveTextContent("Every model seen has a price.");
  });

  it("does render nothing when the collector has no pricing endpoint", async () => {
    setup({ status: 404, body: { error: { code: "not_found", message: "no route" } } });
    renderApp("/usage");
    await screen.findByTestId("usage-total-tokens", {}, { timeout: 4000 });
    expect(screen.queryByTestId("pricing-note")).toBeNull();
  });
});
