/**
 * GET /api/v1/pricing (issue 14, README "Prices"): which price catalogue and overrides are in
 * force, the progress of a re-pricing of history after an override change, and the models seen
 * whose tokens are unpriced. Browser-safe: the dashboard's Usage page reads it.
 */
import { z } from "zod";

const Iso = z.string().max(40);

/** One override (USD per 1M tokens): from the config file or added in the dashboard (issue 17). */
export const PriceOverrideViewSchema = z.object({
  /** The stored id of one added in the dashboard (DELETE /api/v1/pricing/overrides/:id); null: config. */
  // Defaults: collectors older than issue 17 had config overrides only.
  id: z.number().nullable().default(null),
  /** `config`: read-only, from pricing.overrides; `ui`: stored in the database. */
  source: z.enum(["config", "ui"]).default("config"),
  /** A stored one with the same model and date as a config one: the config one is in force. */
  shadowed: z.boolean().default(false),
  createdBy: z.string().nullable().default(null),
  createdAt: Iso.nullable().default(null),
  model: z.string(),
  effectiveFrom: z.string(),
  inputUsdPerMTok: z.number(),
  cachedInputUsdPerMTok: z.number(),
  outputUsdPerMTok: z.number(),
  /** null: cache writes billed as input. */
  cacheWriteUsdPerMTok: z.number().nullable(),
  longContext: z
    .object({
      aboveInputTokens: z.number(),
      inputUsdPerMTok: z.number(),
      cachedInputUsdPerMTok: z.number(),
      outputUsdPerMTok: z.number(),
      cacheWriteUsdPerMTok: z.number().nullable(),
    })
    .nullable(),
});
export type PriceOverrideView = z.infer<typeof PriceOverrideViewSchema>;

export const RepricingViewSchema = z.object({
  status: z.enum(["running", "done", "superseded"]),
  /** The models and the dates from which their rows are re-priced. */
  changes: z.array(z.object({ model: z.string(), fromDate: z.string() })),
  rowsTotal: z.number(),
  rowsDone: z.number(),
  /** Rows whose cost or version changed. */
  rowsChanged: z.number(),
  startedAt: Iso,
  finishedAt: Iso.nullable(),
});
export type RepricingView = z.infer<typeof RepricingViewSchema>;

export const PricingResponseSchema = z.object({
  catalogue: z.object({
    /** Recorded on every row it priced: `genai-prices@0.1.8` or `genai-prices@refresh-2026-12-06`. */
    version: z.string(),
    /** The date of its prices. */
    date: z.string(),
    source: z.enum(["snapshot", "refresh"]),
    refreshEnabled: z.boolean(),
  }),
  overrides: z.array(PriceOverrideViewSchema),
  /** The latest re-pricing (null: history was never re-priced). */
  repricing: RepricingViewSchema.nullable(),
  /** Models with unpriced tokens, most first. */
  unpriced: z.array(z.object({ model: z.string(), unpricedTokens: z.number(), lastSeenAt: Iso })),
});
export type PricingResponse = z.infer<typeof PricingResponseSchema>;

/**
 * POST /api/v1/pricing/overrides body (admin): one override as the config file takes it
 * (packages/pricing PriceOverrideSchema validates it; the protocol stays free of that package).
 * DELETE /api/v1/pricing/overrides/:id removes one added this way.
 */
export const PriceOverrideChangeSchema = z.object({
  override: PriceOverrideViewSchema,
  /** The re-pricing the change started (null: no stored usage is affected). */
  repricing: RepricingViewSchema.nullable(),
});
export type PriceOverrideChange = z.infer<typeof PriceOverrideChangeSchema>;

/** GET /api/v1/pricing/overrides: every override, config ones first, then the stored ones. */
export const PriceOverridesResponseSchema = z.object({ overrides: z.array(PriceOverrideViewSchema) });
export type PriceOverridesResponse = z.infer<typeof PriceOverridesResponseSchema>;
